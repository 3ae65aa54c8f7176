"""The one sanitiser for text that reaches a student (or a file a student's text ends up in).

Text from a submission (its printed output, exception messages, type names) is hostile: any
bytes, any length, control characters, lone surrogates, the grader's paths. Everything shown
goes through :func:`one_line` (a short label: one line, paths reduced to their last part) or
:func:`block` (multi-line feedback, bounded, with a note saying how much was cut).

Standard library only: the sandbox worker receives this file's source text too, and uses
:func:`one_line` to keep what it sends back short.
"""

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ABS_PATH = re.compile(r"(?:/[^/\s'\"():,;<>|`]+)+/([^/\s'\"():,;<>|`]+)")


def printable(text) -> str:
    """``text`` as valid UTF-8 without control characters (newlines and tabs stay).

    Lone surrogates (valid in JSON, unencodable later) become "?".
    """
    text = str(text).encode("utf-8", errors="replace").decode("utf-8")
    return _CONTROL.sub("", text)


def strip_paths(text) -> str:
    """Absolute paths reduced to their last part: '/a/b/gmm1d.py' -> 'gmm1d.py'."""
    return _ABS_PATH.sub(r"\1", text)


def one_line(text, limit=300) -> str:
    """One short printable line with no absolute path, at most ``limit`` characters."""
    text = printable(str(text)[: 4 * limit])
    text = " ".join(strip_paths(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def block(text, limit) -> str:
    """Printable multi-line text of at most ``limit`` characters, plus a note when cut."""
    text = printable(text)
    if len(text) > limit:
        dropped = len(text) - limit
        text = text[:limit] + f"\n[... {dropped} more characters not shown]"
    return text
