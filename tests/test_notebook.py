"""Notebook uploads (grader/notebook.py, and where grade/gradescope use it): parsed strictly
in the grader, converted by the notebook contract's rules, graded like the .py."""

import json
import re
import subprocess
import sys

import pytest

from grader import checks, grade, gradescope, notebook
from grader.paths import PROJECT_ROOT, SOLUTION_PATH
from grader.writers.gradescope import to_gradescope_dict
from tests import notebooks
from tests.results_schema import problems

STUB = PROJECT_ROOT / "gmm1d.py"


def _nb(cells, nbformat=4):
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": nbformat}).encode()


def _code(source, tags=()):
    return {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)}}


# --- conversion (no student code runs: only parsing) ----------------------------------------


def test_code_cells_are_kept_in_order_and_tagged_check_cells_left_out():
    raw = notebooks.build(SOLUTION_PATH.read_text())
    converted = notebook.convert(raw)
    before, cls, after = notebooks.code_parts(SOLUTION_PATH.read_text())
    text = converted.source
    assert text.index(before) < text.index(cls) < text.index(after)
    assert not re.search(r"^(self_check|plot_fit)\(", text, re.M)  # the tagged cells' calls
    assert converted.left_out == (
        "cell 6 (tagged gmm1d-selfcheck)",
        "cell 7 (tagged gmm1d-plot)",
    )
    assert converted.code_cells == 5


def test_untagged_run_only_calls_are_left_out_but_other_uses_kept():
    raw = _nb(
        [
            _code("x = 1\nself_check()\nprint(plot_fit('f.png'))\ny = self_check()\n"),
            _code(["plot_fit()"]),
        ]
    )
    converted = notebook.convert(raw)
    assert "x = 1" in converted.source and "y = self_check()" in converted.source
    assert "\nself_check()" not in converted.source and "plot_fit" not in converted.source
    assert converted.left_out == (
        "cell 1: the call(s) of self_check, plot_fit()",
        "cell 2: the call(s) of plot_fit()",
    )


def test_magics_and_shell_lines_are_left_out_keeping_blocks_valid():
    raw = _nb(
        [
            _code("%matplotlib inline\nimport numpy as np\n!pip install scipy\n"),
            _code("%%time\nprint('timed')\n"),
            _code("if True:\n    !ls\n    z = 2\n"),
            _code('doc = """\n%s is kept: data in a string\n"""\n'),
        ]
    )
    converted = notebook.convert(raw)
    compile(converted.source, "converted", "exec")  # parses; nothing is run
    assert "import numpy as np" in converted.source and "timed" not in converted.source
    assert "!ls" not in converted.source and "z = 2" in converted.source
    assert "%s is kept" in converted.source
    assert converted.left_out == (
        "cell 1: 2 IPython magic or shell line(s)",
        "cell 2 (the cell magic %%time)",
        "cell 3: 1 IPython magic or shell line(s)",
    )


def test_converting_never_runs_the_notebooks_code(tmp_path):
    marker = tmp_path / "ran"
    raw = _nb([_code(f"open({str(marker)!r}, 'w').write('x')\n")])
    notebook.convert(raw)
    assert not marker.exists()


@pytest.mark.parametrize(
    "raw, says",
    [
        (b"not json at all", "not a valid notebook file"),
        (b'{"cells": [], "nbformat": NaN}', "not a valid notebook file"),
        (b"[" * 200_000, "not a valid notebook file"),
        (b'{"cells": [], "nbformat": 4}' + b" " * notebook.MAX_BYTES, "over the 5,000,000"),
        (_nb([], nbformat=3), "notebook format 3"),
        (b'{"nbformat": 4, "cells": {}}', "no list of cells"),
        (_nb([{"cell_type": "code"}] * (notebook.MAX_CELLS + 1)), "cells, over the"),
        (_nb([_code("x" * (notebook.MAX_CODE_CHARS + 1))]), "characters in all"),
        (_nb([{"cell_type": "code", "source": 7}]), "neither text nor a list"),
        (_nb(["a cell?"]), "cell 1 is not a notebook cell"),
        (b"\xff\xfe{}", "not a valid notebook file"),
    ],
    ids=[
        "text",
        "nan",
        "deep",
        "huge",
        "v3",
        "cells-not-list",
        "many-cells",
        "much-code",
        "bad-source",
        "bad-cell",
        "not-utf8",
    ],
)
def test_unreadable_notebooks_raise_a_clear_error(raw, says):
    with pytest.raises(notebook.NotebookError, match=says):
        notebook.convert(raw)


# --- finding the upload ----------------------------------------------------------------------


def test_finder_takes_gmm1d_ipynb_then_the_only_notebook(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "lab.ipynb").write_text("{}")
    assert gradescope.find_submission(tmp_path)[0] == tmp_path / "lab.ipynb"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "gmm1d.ipynb").write_text("{}")
    found, note = gradescope.find_submission(tmp_path)
    assert found == tmp_path / "sub" / "gmm1d.ipynb" and "sub/gmm1d.ipynb" in note


def test_finder_prefers_python_and_refuses_to_guess_among_notebooks(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "b.ipynb").write_text("{}")
    found, note = gradescope.find_submission(tmp_path)
    assert found is None and "none is named `gmm1d.ipynb`" in note
    (tmp_path / "mine.py").write_text("class GMM1D:\n    pass\n")
    assert gradescope.find_submission(tmp_path)[0] == tmp_path / "mine.py"
    (tmp_path / "gmm1d.ipynb").write_text("{}")
    assert gradescope.find_submission(tmp_path)[0] == tmp_path / "mine.py"


# --- grading (the worker runs the converted code) --------------------------------------------


def _grade(tmp_path, raw, name="gmm1d.ipynb"):
    upload = tmp_path / name
    upload.write_bytes(raw)
    results = tmp_path / "results.json"
    grade.grade_submission(upload, results)
    assert problems(results.read_bytes()) == []
    return json.loads(results.read_bytes())


@pytest.mark.slow
def test_untouched_notebook_scores_0_failing_the_stubs_checks(tmp_path):
    from_py = to_gradescope_dict(grade.grade_submission(STUB, None))
    data = _grade(tmp_path, notebooks.build(STUB.read_text()))
    assert data["score"] == 0 == from_py["score"]
    failed = [t["name"] for t in data["tests"] if t["status"] == "failed"]
    assert failed == [t["name"] for t in from_py["tests"] if t["status"] == "failed"]
    assert "tagged gmm1d-selfcheck" in data["output"]


@pytest.mark.slow
@pytest.mark.parametrize("tags", [True, False], ids=["tagged", "tags-lost"])
def test_notebook_filled_with_the_solution_scores_100(tmp_path, tags):
    extra = ["%matplotlib inline\n!pip install numpy"]
    data = _grade(
        tmp_path, notebooks.build(SOLUTION_PATH.read_text(), tags=tags, extra_cells=extra)
    )
    assert data["score"] == 100, data["output"]
    assert len(data["tests"]) == len(checks.ids())
    assert "2 IPython magic or shell line(s)" in data["output"]
    assert data["extra_data"]["submission"] == "gmm1d.ipynb"


def test_malformed_notebook_gets_valid_results_saying_why(tmp_path):
    data = _grade(tmp_path, b'{"cells": "nope", "nbformat": 4}', name="lab.ipynb")
    assert data["score"] == 0
    for test in data["tests"]:
        assert "`lab.ipynb` could not be read" in test["output"]
        assert "no list of cells" in test["output"]


@pytest.mark.slow
def test_make_grade_takes_a_notebook(tmp_path):
    upload = tmp_path / "gmm1d.ipynb"
    upload.write_bytes(notebooks.build(SOLUTION_PATH.read_text()))
    proc = subprocess.run(
        [sys.executable, "-m", "grader", upload, "--results", tmp_path / "r.json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Total: 100/100" in proc.stdout
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 100


@pytest.mark.slow
def test_gradescope_flow_grades_an_uploaded_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_ROOT", str(tmp_path))
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "Lab3 (1).ipynb").write_bytes(
        notebooks.build(SOLUTION_PATH.read_text())
    )
    (tmp_path / "results").mkdir()
    assert gradescope.main([]) == 0
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    assert data["score"] == 100 and "Lab3 (1).ipynb" in data["output"]
