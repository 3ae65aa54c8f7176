"""A notebook upload (``gmm1d.ipynb``) turned into the Python file the worker imports.

The rules are the notebook contract's (helpers' NOTEBOOK.md, docs/grading.md "Notebook
uploads"): the code cells are kept in order; left out are the cells tagged
``gmm1d-selfcheck`` or ``gmm1d-plot``, whole-cell magics (``%%...``), IPython line magics
(``%...``) and shell lines (``!...``), and top-level statements that only call
``self_check()`` or ``plot_fit(...)`` (notebooks whose tags were lost). What was left out is
said in the feedback.

Security: the notebook is the student's, read here in the grader's process (root on
Gradescope), so it is only ever *parsed*: strict JSON (grader/strictjson.py) under a byte
cap, then caps on cells and code characters before any cell is handed to :func:`ast.parse`
(which compiles nothing and runs nothing). Its code runs only in the sandbox worker, from
the file :func:`convert` returns, exactly like an uploaded gmm1d.py.
"""

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path

from grader import strictjson
from grader.feedback import code, escape

MAX_BYTES = 5_000_000  # PrairieLearn's upload cap; room for a notebook saved with its figures
MAX_CELLS = 1000  # the handout's notebook has about 20
MAX_CODE_CHARS = 500_000  # all code cells together: ten times a generous gmm1d.py
CHECK_TAGS = ("gmm1d-selfcheck", "gmm1d-plot")  # NOTEBOOK.md: the handout's two run-only cells
RUN_ONLY_CALLS = ("self_check", "plot_fit")  # functions whose bare call only checks or plots
_MAGIC_OR_SHELL = re.compile(r"^[ \t]*[%!]")


class NotebookError(ValueError):
    """The upload is not a notebook the grader can read (the message says why, to the student)."""


@dataclass(frozen=True)
class Conversion:
    """The Python the worker imports, and what was left out (one line each, for feedback)."""

    source: str
    left_out: tuple[str, ...]
    code_cells: int


def _cell_text(cell, number) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise NotebookError(f"cell {number}'s source is neither text nor a list of lines")


def _tags(cell) -> list:
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def read_cells(raw: bytes) -> list:
    """The notebook's cells as ``(number, cell_type, text, tags)``; raises NotebookError."""
    if len(raw) > MAX_BYTES:
        raise NotebookError(
            f"it is {len(raw):,} bytes, over the {MAX_BYTES:,} the grader reads "
            "(clear the outputs: Kernel > Restart & Clear Output, then save)"
        )
    try:
        data = strictjson.loads(raw, MAX_BYTES)
    except strictjson.JSONError as exc:
        raise NotebookError(f"it is not a valid notebook file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("it is not a Jupyter notebook (no list of cells)")
    if data.get("nbformat") != 4:
        raise NotebookError(
            f"it is in notebook format {str(data.get('nbformat'))[:20]}; the grader reads format 4 "
            "(save it with Jupyter 4 or later, or Colab)"
        )
    cells = data["cells"]
    if len(cells) > MAX_CELLS:
        raise NotebookError(f"it has {len(cells):,} cells, over the {MAX_CELLS:,} allowed")
    found, code_chars = [], 0
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookError(f"cell {number} is not a notebook cell")
        text = _cell_text(cell, number)
        if cell["cell_type"] == "code":
            code_chars += len(text)
            if code_chars > MAX_CODE_CHARS:
                raise NotebookError(
                    f"its code cells hold over {MAX_CODE_CHARS:,} characters in all"
                )
        found.append((number, cell["cell_type"], text, _tags(cell)))
    return found


def _parsed(text):
    """The module ``ast`` of ``text``, or None when it is not Python (nothing is run)."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _without_magics(text):
    """``text`` with IPython line magics and shell lines replaced by ``pass`` at their indent
    (so an ``if`` around one stays valid); returns (text, lines replaced, its ast or None).

    Only done when the cell does not parse as Python as it is: a line starting with ``%`` or
    ``!`` inside a string of a valid cell is data, not a magic."""
    tree = _parsed(text)
    if tree is not None:
        return text, 0, tree
    lines, replaced = text.split("\n"), 0
    for i, line in enumerate(lines):
        if _MAGIC_OR_SHELL.match(line):
            indent = line[: len(line) - len(line.lstrip(" \t"))]
            lines[i] = f"{indent}pass  # grader: left out {line.strip()[:1]}-line"
            replaced += 1
    text = "\n".join(lines)
    return text, replaced, _parsed(text) if replaced else None


def _run_only_call(node) -> str | None:
    """The name when ``node`` is a top-level ``self_check()`` / ``plot_fit(...)`` statement
    (also inside ``print(...)``), else None."""
    if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
        return None
    call = node.value
    if isinstance(call.func, ast.Name) and call.func.id == "print" and len(call.args) == 1:
        if isinstance(call.args[0], ast.Call) and not call.keywords:
            call = call.args[0]
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    return name if name in RUN_ONLY_CALLS else None


def _without_run_only_calls(text, tree):
    """``text`` without its top-level run-only calls; returns (text, names of the calls).
    A cell that is not Python (``tree`` None) stays as it is: the worker's import reports
    its syntax error, as for a .py."""
    if tree is None:
        return text, []
    lines, names = text.split("\n"), []
    for node in reversed(tree.body):
        name = _run_only_call(node)
        if name is not None and node.end_lineno is not None:
            del lines[node.lineno - 1 : node.end_lineno]
            names.append(name)
    return "\n".join(lines), names[::-1]


def convert(raw: bytes, filename="gmm1d.ipynb") -> Conversion:
    """The Python of a notebook upload, by the rules in the module docstring.

    Raises NotebookError (a message for the student) when ``raw`` is not a readable notebook.
    """
    parts = [f"# The code cells of {filename}, joined by the grader (notebook cell numbers)."]
    left_out, code_cells = [], 0
    for number, cell_type, text, tags in read_cells(raw):
        if cell_type != "code":
            continue
        code_cells += 1
        tagged = [t for t in tags if t in CHECK_TAGS]
        if tagged:
            left_out.append(f"cell {number} (tagged {tagged[0]})")
            continue
        if text.lstrip().startswith("%%"):
            magic = text.lstrip().split(None, 1)[0][:40]
            left_out.append(f"cell {number} (the cell magic {magic})")
            continue
        text, replaced, tree = _without_magics(text)
        if replaced:
            left_out.append(f"cell {number}: {replaced} IPython magic or shell line(s)")
        text, calls = _without_run_only_calls(text, tree)
        if calls:
            left_out.append(f"cell {number}: the call(s) of {', '.join(calls)}()")
        parts.append(f"\n# --- cell {number} ---\n{text.rstrip()}\n")
    return Conversion("\n".join(parts) + "\n", tuple(left_out), code_cells)


def is_notebook(path) -> bool:
    return path is not None and str(path).lower().endswith(".ipynb")


def read_upload(path) -> bytes:
    """The upload's bytes, at most MAX_BYTES + 1 of them, never through a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(MAX_BYTES + 1)


def load(path) -> Conversion:
    """:func:`convert` of the notebook at ``path``; raises NotebookError (OSError included)."""
    try:
        raw = read_upload(path)
    except OSError as exc:
        raise NotebookError(f"it could not be opened ({exc.strerror})") from None
    return convert(raw, Path(path).name)


def note(conversion: Conversion, name: str) -> str:
    """What the feedback says about a converted notebook (Markdown)."""
    text = (
        f"Your notebook {code(name)} was graded as the Python of its "
        f"{conversion.code_cells} code cell(s), in order."
    )
    if conversion.left_out:
        text += " Left out (they only run checks or plots, or are not Python): " + "; ".join(
            escape(item) for item in conversion.left_out
        )
        text += "."
    return text


def unreadable_message(name: str, error: NotebookError) -> str:
    """What every check says when the notebook could not be read (Markdown)."""
    return (
        f"Your notebook {code(name)} could not be read, so nothing was graded: "
        f"{escape(str(error))}. Upload `gmm1d.ipynb` as Jupyter or Colab saved it, "
        "or your finished `gmm1d.py`."
    )
