"""Notebooks for the tests, built with nbformat from a gmm1d.py the way NOTEBOOK.md lays
out the handout's ``gmm1d.ipynb``: a Markdown cell, the module code before the class, the
class in one cell, the code after it (no ``if __name__`` block), then a ``self_check()``
cell tagged ``gmm1d-selfcheck`` and a ``plot_fit()`` cell tagged ``gmm1d-plot``.

Built here, independently of the handout generator (helper ``student``'s), so a change
there cannot make these tests agree with it by construction.
"""

import ast

import nbformat
from nbformat import v4


def code_parts(source: str):
    """(before the class, the class, after it without the ``if __name__`` block)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "GMM1D"]
    main = [n for n in tree.body if isinstance(n, ast.If) and "__name__" in ast.unparse(n.test)]
    end = main[0].lineno - 1 if main else len(lines)
    first = cls.decorator_list[0].lineno if cls.decorator_list else cls.lineno
    return (
        "\n".join(lines[: first - 1]).strip(),
        "\n".join(lines[first - 1 : cls.end_lineno]).strip(),
        "\n".join(lines[cls.end_lineno : end]).strip(),
    )


def build(source: str, *, tags=True, extra_cells=()) -> bytes:
    """The notebook of ``source`` (a gmm1d.py's text) as the bytes Jupyter saves.
    ``tags=False``: the check and plot cells lost their tags. ``extra_cells``: more code
    cells (their sources), put after the class."""
    before, cls, after = code_parts(source)
    check = v4.new_code_cell("self_check()")
    plot = v4.new_code_cell("plot_fit()")
    if tags:
        check.metadata["tags"] = ["gmm1d-selfcheck"]
        plot.metadata["tags"] = ["gmm1d-plot"]
    cells = [
        v4.new_markdown_cell("# Lab 3: EM for a 1-D Gaussian mixture\n\nFinish `estep`."),
        v4.new_code_cell(before),
        v4.new_code_cell(cls),
        *(v4.new_code_cell(text) for text in extra_cells),
        v4.new_code_cell(after),
        v4.new_markdown_cell("## Check your work"),
        check,
        plot,
    ]
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.validate(notebook)
    return nbformat.writes(notebook).encode("utf-8")
