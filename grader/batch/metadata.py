"""Gradescope's ``submission_metadata.yml``: who submitted each submission.

Read by a small line scanner for the one shape Gradescope writes, never a YAML loader: the
file is data an instructor downloaded, but its names were typed by students.
"""

import re
from dataclasses import dataclass

METADATA_NAME = "submission_metadata.yml"


@dataclass(frozen=True)
class Submitter:
    name: str = ""
    sid: str = ""
    email: str = ""


_TOP_KEY_RE = re.compile(r"""^(['"]?)(submission_[A-Za-z0-9_-]{1,64})\1:\s*(#.*)?$""")


_FIELD_RE = re.compile(r"^:([a-z_]+):(?:\s+(.*))?$")


_SUBMITTER_FIELDS = ("name", "sid", "email")


_DQ_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}


_DQ_ESCAPE_RE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.S)


def _unescape_double(text: str) -> str:
    def repl(m):
        code = m.group(1)
        if code[0] in "xuU" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _DQ_ESCAPES.get(code, code)

    return _DQ_ESCAPE_RE.sub(repl, text)


def _scalar(lines: list[str]) -> str:
    """Decode one YAML scalar from its first-line text and any continuation lines.

    Handles plain, 'single' and "double" quoted scalars (folded over several lines) and the
    empty/null forms. Block scalars and tagged values (``|``, ``>``, ``!binary``) never occur
    for these fields in a real export; they decode to their continuation text, tags to "".
    """
    first = lines[0].strip() if lines else ""
    rest = [line.strip() for line in lines[1:]]
    if first in ("", "~", "null", "Null", "NULL") and not rest:
        return ""
    if first.startswith("!"):
        return ""
    if first[:1] in ("|", ">"):
        return ("\n" if first[0] == "|" else " ").join(rest)
    if first[:1] == "'":
        text = " ".join([first] + rest)
        if len(text) < 2 or not text.endswith("'"):
            return text[1:].replace("''", "'")  # unterminated: keep what is there
        return text[1:-1].replace("''", "'")
    if first[:1] == '"':
        text = first
        for line in rest:  # a trailing backslash joins lines without a space
            text = (
                text[:-1] + line
                if text.endswith("\\") and not text.endswith("\\\\")
                else text + " " + line
            )
        if len(text) >= 2 and text.endswith('"') and not text.endswith('\\"'):
            text = text[1:-1]
        else:
            text = text[1:]
        return _unescape_double(text)
    text = " ".join([first] + rest)
    return re.split(r"\s#", text, maxsplit=1)[
        0
    ].strip()  # " #" starts a comment after a plain scalar


# Gradescope writes this file with Ruby's YAML emitter (Psych), symbols as keys:
#
#   submission_123456:
#     :submitters:
#     - :name: Ada Lovelace
#       :sid: '1815'
#       :email: ada@example.edu
#     :created_at: 2024-03-01 12:00:00.000000000 -08:00
#     :score: 42.0
#     :results: {...nested, ignored...}
#
# Only the `:submitters:` list of each top-level `submission_<id>:` entry is read. Long values
# may be folded onto more-indented continuation lines; quoted values use YAML's quoting rules.


def parse_metadata(text: str) -> dict[str, tuple[Submitter, ...]]:
    """``submission_metadata.yml`` text -> {"submission_<id>": (Submitter, ...)}.

    A line scanner for exactly the shape Gradescope writes (the comment above); every line
    it does not recognise is ignored, so extra keys (``:created_at:``, ``:score:``,
    ``:results:``, ``:history:``) cost nothing. Entries without ``:submitters:`` map to ().
    """
    result: dict[str, list[dict[str, list[str]]]] = {}
    current = None  # top-level key being read
    child_indent = None  # indentation of that entry's own keys
    in_submitters = False
    dash_indent = None  # indentation of the "- " that opens each submitter
    item: dict[str, list[str]] | None = None  # field -> [first line, continuation lines...]
    field_indent = None  # column of each submitter's fields
    last_field = None

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#") or line in ("---", "..."):
            continue
        indent = len(line) - len(stripped)
        if indent == 0:
            m = _TOP_KEY_RE.match(line)
            current = m.group(2) if m else None
            if current is not None:
                result.setdefault(current, [])
            child_indent, in_submitters, dash_indent, item, field_indent, last_field = (
                None,
                False,
                None,
                None,
                None,
                None,
            )
            continue
        if current is None:
            continue
        if child_indent is None:
            child_indent = indent
        if indent < child_indent:
            current = None  # malformed: ignore until the next top-level key
            continue
        if indent == child_indent and not stripped.startswith("-"):
            in_submitters = stripped in (":submitters:", ":submitters: []")
            dash_indent, item, field_indent, last_field = None, None, None, None
            continue
        if not in_submitters:
            continue
        if stripped == "-" or stripped.startswith("- "):
            if dash_indent is None:
                dash_indent = indent
            if indent == dash_indent:
                item, last_field = {}, None
                result[current].append(item)
                rest = stripped[1:].lstrip(" ")
                field_indent = len(line) - len(rest) if rest else None  # None: next line's
                if not rest:
                    continue
                stripped, indent = rest, field_indent
        if item is None:
            continue
        if field_indent is None:
            field_indent = indent
        m = _FIELD_RE.match(stripped)
        if m and indent == field_indent:
            last_field = m.group(1)
            item[last_field] = [m.group(2) or ""]
        elif last_field is not None and indent > field_indent:
            item[last_field].append(stripped)  # a folded continuation of the previous value
        # anything else: not part of the shape we read; ignored

    return {
        key: tuple(
            Submitter(**{f: _scalar(fields.get(f, [])) for f in _SUBMITTER_FIELDS})
            for fields in items
        )
        for key, items in result.items()
    }
