"""The handout's notebook gmm1d.ipynb (grader/handout_notebook.py, NOTEBOOK.md's layout):
generated from gmm1d.py and the handout text, valid, holding the module's code, and run top to
bottom by a real kernel (nbclient) both filled in with the reference and untouched.
"""

import ast
import re
import zipfile

import nbformat
import pytest

from grader import handout_notebook, package, paths

ROOT = paths.PROJECT_ROOT
STUB = (ROOT / "gmm1d.py").read_text()
SOLUTION = paths.SOLUTION_PATH.read_text()
N_CHECKS = 20


def notebook(source=STUB):
    text = package.handout_text(ROOT)
    return nbformat.reads(handout_notebook.build(source, text).decode(), as_version=4)


def code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def tagged(nb, tag):
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def module_code_cells(nb):
    return [c for c in code(nb) if not c.metadata.get("tags")]


def without_main(source):
    tree = ast.parse(source)
    [main] = [n for n in tree.body if isinstance(n, ast.If) and "__name__" in ast.unparse(n.test)]
    return "\n".join(source.splitlines()[: main.lineno - 1])


def test_the_notebook_is_valid_and_laid_out_as_the_contract_says():
    nb = notebook()
    nbformat.validate(nb)
    [check] = tagged(nb, "gmm1d-selfcheck")
    [plot] = tagged(nb, "gmm1d-plot")
    assert (check.cell_type, check.source, check.metadata["tags"]) == (
        "code",
        "self_check()",
        ["gmm1d-selfcheck"],
    )
    assert (plot.cell_type, plot.source, plot.metadata["tags"]) == (
        "code",
        "plot_fit()",
        ["gmm1d-plot"],
    )
    cells = module_code_cells(nb)
    classes = [c for c in cells if "class GMM1D" in c.source]
    assert len(classes) == 1  # the class in one cell, and that cell parses alone
    [cls] = [n for n in ast.parse(classes[0].source).body if isinstance(n, ast.ClassDef)]
    assert cls.name == "GMM1D" and {"estep", "mstep"} <= {f.name for f in cls.body[1:]}
    assert not any(re.search(r"^if __name__", c.source, re.M) for c in code(nb))
    # The lab text, every section of it, in Markdown cells; the check cells after the class.
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in re.findall(r"(?m)^## .+$", (ROOT / "HANDOUT.md").read_text()):
        assert heading in markdown
    assert nb.cells.index(classes[0]) < nb.cells.index(check) < nb.cells.index(plot)
    assert nb.cells[nb.cells.index(check) - 1].source.startswith("## Check your work")
    assert nb.cells[nb.cells.index(plot) - 1].source.startswith("## See your fit")
    assert nb.cells[-1].cell_type == "markdown" and "<!--" not in nb.cells[0].source
    assert len({c.id for c in nb.cells}) == len(nb.cells)


def test_the_code_cells_are_the_modules_code_without_its_main_block():
    def lines(text):
        return [line for line in text.splitlines() if line.strip()]

    nb = notebook()
    cells = "\n".join(c.source for c in module_code_cells(nb))
    assert lines(cells) == lines(without_main(STUB))
    assert "if __name__" in STUB  # the comparison above left something out


def test_the_handout_zip_holds_the_notebook_of_its_own_files_and_rebuilds_identically(tmp_path):
    first = package.build_handout(ROOT, tmp_path / "a.zip").read_bytes()
    again = package.build_handout(ROOT, tmp_path / "b.zip").read_bytes()
    assert first == again
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        shipped = archive.read("gmm1d.ipynb")
        stub, text = archive.read("gmm1d.py").decode(), archive.read("HANDOUT.md").decode()
    assert shipped == handout_notebook.build(stub, text)


def test_the_handout_holds_the_references_picture_of_the_fit(tmp_path):
    from PIL import Image

    package.build_handout(ROOT, tmp_path / "h.zip")
    with zipfile.ZipFile(tmp_path / "h.zip") as archive:
        (tmp_path / "fit.png").write_bytes(archive.read(package.EXAMPLE_PICTURE))
    with Image.open(tmp_path / "fit.png") as image:
        image.load()
        assert image.format == "PNG" and image.size == (1100, 420)
    assert package.EXAMPLE_PICTURE in (ROOT / "HANDOUT.md").read_text()


def test_a_stub_without_the_check_functions_or_a_section_is_refused():
    text = package.handout_text(ROOT)
    with pytest.raises(handout_notebook.NotebookError, match="plot_fit"):
        handout_notebook.build(STUB.replace("def plot_fit(", "def plot_it("), text)
    with pytest.raises(handout_notebook.NotebookError, match="Check your work"):
        handout_notebook.build(STUB, text.replace("## Check your work", "## Checking"))


def execute(nb, cwd, allow_errors):
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, timeout=300, allow_errors=allow_errors, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return nb


def printed(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.slow
def test_filled_with_the_reference_the_notebook_runs_top_to_bottom(tmp_path):
    nb = execute(notebook(SOLUTION), tmp_path, allow_errors=False)  # raises on any error
    [check] = tagged(nb, "gmm1d-selfcheck")
    lines = printed(check).splitlines()
    assert sum(line.startswith("PASS  ") for line in lines) == N_CHECKS
    assert f"All {N_CHECKS} checks passed." in lines and "FAIL" not in printed(check)
    [plot] = tagged(nb, "gmm1d-plot")
    assert any("image/png" in o.get("data", {}) for o in plot.outputs)  # shown in the notebook
    assert (tmp_path / "gmm1d_fit.png").stat().st_size > 10_000


@pytest.mark.slow
def test_the_untouched_notebook_runs_its_self_check_and_stops_only_at_the_plot(tmp_path):
    """A student who runs every cell before writing anything sees the self-check's FAIL lines
    (no exception) and one error, in the plot cell: there is no fit to draw yet."""
    nb = execute(notebook(STUB), tmp_path, allow_errors=True)
    [check] = tagged(nb, "gmm1d-selfcheck")
    [plot] = tagged(nb, "gmm1d-plot")
    errors = [c for c in code(nb) if any(o.output_type == "error" for o in c.outputs)]
    assert errors == [plot]
    lines = printed(check).splitlines()
    assert sum(line.startswith("FAIL  ") for line in lines) == N_CHECKS
    assert "Not written yet: GMM1D.estep and GMM1D.mstep" in printed(check)
    [error] = [o for o in plot.outputs if o.output_type == "error"]
    assert error.ename == "NotImplementedError" and "GMM1D.estep" in error.evalue
