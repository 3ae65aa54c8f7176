"""Feedback as sanitised HTML, for a test output that shows pictures (Gradescope displays an
image only inside an ``html`` output, as a data URL in ``<img>``).

The Markdown is rendered by markdown-it-py's CommonMark renderer with raw HTML turned off,
so any ``<`` in it (what the student's code printed, an exception's text, all of it inside
code) comes out escaped: the output holds no element but those Markdown makes (paragraphs,
code, emphasis, lists), never a script, a style or an event handler. Links and images in
the Markdown are turned off too: the only image is ours, a PNG we drew, as a data URL.
"""

import base64
import html
import struct

from markdown_it import MarkdownIt

from grader.text import block

HTML_TEXT_CHARS = 20_000  # a test's text as HTML, pictures aside
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# "commonmark" with html False: raw HTML is text. No links, autolinks or images: our
# Markdown has none, and none may come from anywhere else.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable(["link", "autolink", "image"])


def markdown_html(markdown, limit=HTML_TEXT_CHARS) -> str:
    """``markdown`` rendered as HTML of at most ``limit`` characters (escaping can make HTML
    several times longer than its Markdown: the Markdown is cut until it fits)."""
    room = len(markdown)
    while True:
        rendered = _MARKDOWN.render(block(markdown, room) if room < len(markdown) else markdown)
        if len(rendered) <= limit or room <= 0:
            return rendered
        room = max(0, room * limit // len(rendered) - 100)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's header; ValueError when it is not a PNG."""
    if len(png) < 24 or not png.startswith(_PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", png[16:24])


def figure_html(figure) -> str:
    """One figure (grader.result.Figure): the PNG as a data URL with its alt text and size,
    and its caption as a line under it."""
    width, height = png_size(figure.png)
    data = base64.b64encode(figure.png).decode("ascii")
    alt = html.escape(figure.alt, quote=True)
    img = f'<img src="data:image/png;base64,{data}" alt="{alt}" width="{width}" height="{height}">'
    caption = f"\n<p><em>{html.escape(figure.caption)}</em></p>" if figure.caption else ""
    return f"<p>{img}</p>{caption}\n"
