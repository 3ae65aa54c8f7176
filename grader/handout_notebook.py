"""The handout's notebook, ``gmm1d.ipynb``, generated from ``gmm1d.py`` and the handout text
(never a second copy kept by hand). The layout is NOTEBOOK.md's contract with the grader,
which reads uploaded notebooks (grader/notebook.py):

* Markdown: the handout's sections before ``## Check your work`` (one cell per section);
* code: the module before the class (docstring, imports, constants, ``pdf``);
* code: the class ``GMM1D``, whole, in one cell: the two methods to write are there;
* code: the module after the class, one cell per section that opens with a ``# ----`` banner
  (the self-check's code, the plot's code), without the ``if __name__`` block;
* Markdown: ``## Check your work`` and the sections up to ``## See your fit``; then code:
  ``self_check()``, tagged ``gmm1d-selfcheck``;
* Markdown: ``## See your fit`` and the sections up to ``## What to submit``; then code:
  ``plot_fit()``, tagged ``gmm1d-plot`` (the grader leaves both tagged cells out);
* Markdown: the rest of the handout (what to submit, how it is graded).

The code cells, in order, hold every line of the module but that block, so the notebook runs
what ``python gmm1d.py`` runs. Reproducible: cell ids are numbered, not random, and nbformat
writes sorted keys, so the same sources give the same bytes.
"""

import ast
import re

import nbformat
from nbformat import v4

SELF_CHECK_TAG = "gmm1d-selfcheck"
PLOT_TAG = "gmm1d-plot"
CHECK_SECTION = "## Check your work"  # the handout's sections from here on follow the code
PLOT_SECTION = "## See your fit"  # ...from here on follow the self_check() cell
TAIL_SECTION = "## What to submit"  # ...and from here on follow the plot_fit() cell
BANNER = re.compile(r"^# -{20,}$")


class NotebookError(Exception):
    """The sources do not have the shape the notebook is built from."""


def code_cells(source: str) -> list:
    """The module's code as cell sources: before the class, the class, then each banner
    section after it; the ``if __name__`` block left out."""
    tree = ast.parse(source)
    lines = source.splitlines()
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "GMM1D"]
    if len(classes) != 1:
        raise NotebookError("gmm1d.py must define the class GMM1D once")
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for needed in ("self_check", "plot_fit"):
        if needed not in defined:
            raise NotebookError(f"gmm1d.py defines no {needed}(): the notebook's cells call it")
    main = [n for n in tree.body if isinstance(n, ast.If) and "__name__" in ast.unparse(n.test)]
    end = main[0].lineno - 1 if main else len(lines)
    cls = classes[0]
    first = cls.decorator_list[0].lineno if cls.decorator_list else cls.lineno
    starts = [0, first - 1, cls.end_lineno]
    starts += [
        i
        for i in range(cls.end_lineno, end)
        if BANNER.match(lines[i]) and not lines[i - 1].startswith("#") and i > starts[-1]
    ]
    bounds = zip(starts, [*starts[1:], end])
    cells = ["\n".join(lines[a:b]).strip("\n") for a, b in bounds]
    return [cell for cell in cells if cell.strip()]


def sections(markdown: str) -> list:
    """The handout split before each ``## `` heading (the title and intro come first)."""
    parts = re.split(r"(?m)^(?=## )", markdown)
    return [part.strip("\n") for part in parts if part.strip()]


def _split(parts, heading):
    found = [i for i, part in enumerate(parts) if part.splitlines()[0].strip() == heading]
    if not found:
        raise NotebookError(f"the handout has no section {heading!r}")
    return parts[: found[0]], parts[found[0] :]


def build(stub_source: str, handout_markdown: str) -> bytes:
    """The notebook's bytes, as Jupyter would save them."""
    before, rest = _split(sections(handout_markdown), CHECK_SECTION)
    checking, rest = _split(rest, PLOT_SECTION)
    plotting, tail = _split(rest, TAIL_SECTION)
    check = v4.new_code_cell("self_check()", metadata={"tags": [SELF_CHECK_TAG]})
    plot = v4.new_code_cell("plot_fit()", metadata={"tags": [PLOT_TAG]})
    cells = [
        *(v4.new_markdown_cell(text) for text in before),
        *(v4.new_code_cell(text) for text in code_cells(stub_source)),
        *(v4.new_markdown_cell(text) for text in checking),
        check,
        *(v4.new_markdown_cell(text) for text in plotting),
        plot,
        *(v4.new_markdown_cell(text) for text in tail),
    ]
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"cell-{number:02d}"  # not random: the zip stays byte-identical
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.validate(notebook)
    return nbformat.writes(notebook).encode("utf-8")
