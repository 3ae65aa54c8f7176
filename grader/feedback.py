"""Feedback as students read it on Gradescope: Markdown (``output_format: "md"``), which
Gradescope renders as "some basic Markdown". So only paragraphs, inline code, code blocks,
bold and lists: no tables, no HTML.

Anything that comes from the submission (exception messages, type names, printed output) is
put inside code, where Markdown means nothing: :func:`code` for one line, :func:`fenced` for
several; prose of ours that names the student's values goes through :func:`escape`. The
terminal table, grades.csv and report.html keep plain text (:func:`plain`).
"""

import re

# What can start markup inside a line of ours (emphasis, code, links, HTML, tables).
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_BACKTICKS = re.compile(r"`+")


def _fence_for(text, least):
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(least, longest + 1)


def code(text) -> str:
    """``text`` as inline code, whatever it holds (a longer fence than any backtick run)."""
    text = " ".join(str(text).split()) or " "
    fence = _fence_for(text, 1)
    pad = " " if text.startswith("`") or text.endswith("`") or fence != "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fenced(text) -> str:
    """``text`` as a code block of its own (blank lines around it are the caller's)."""
    text = str(text).rstrip("\n")
    fence = _fence_for(text, 3)
    return f"{fence}\n{text}\n{fence}"


def escape(text) -> str:
    """Prose that must be read as it is, never as Markdown."""
    return _SPECIAL.sub(r"\\\1", str(text))


def bullets(lines) -> str:
    return "\n".join(f"- {line}" for line in lines)


def numbers(values, digits=5) -> str:
    """'[0.29421, 0.62246, ...]': at most eight numbers (plain; put it in code to show it)."""
    import numpy as np  # here, so that importing this module needs the standard library only

    arr = np.asarray(values, dtype=float).ravel()
    shown = ", ".join(f"{v:.{digits}g}" for v in arr[:8])
    return f"[{shown}{', ...' if arr.size > 8 else ''}]"


def comparison(rows) -> str:
    """A code block of labelled values, aligned: [("expected", array), ("got", array)]."""
    width = max(len(label) for label, _ in rows)
    return fenced("\n".join(f"{label:<{width}}  {numbers(values)}" for label, values in rows))


_MARKUP = re.compile(r"\*\*|`+|\\(?=[\\`*_\[\]<>|~])")


def plain(markdown) -> str:
    """Markdown of ours as plain text: markers dropped, escapes undone (for the terminal)."""
    return _MARKUP.sub("", markdown)
