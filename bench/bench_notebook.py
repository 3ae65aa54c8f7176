"""What a notebook upload costs (grader/notebook.py): converting the handout-sized notebook,
converting hostile ones at the size limits (the bound on what an upload can make the
grader's process do before any sandbox), and grading a notebook against grading the same
class as a .py, interleaved run by run (medians, and their ratio)."""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import median_seconds
from grader import notebook
from grader.paths import PROJECT_ROOT, SOLUTION_PATH
from tests import notebooks

GRADE_RUNS = 5


def _at_the_limits():
    """(label, bytes) of notebooks as costly as the caps allow."""
    per_cell = notebook.MAX_CODE_CHARS // notebook.MAX_CELLS
    many = [{"cell_type": "code", "source": "x = 1\n" * (per_cell // 6), "metadata": {}}]
    broken_line = "!ls\n" + "y = (1 +\n" * (notebook.MAX_CODE_CHARS // 10)  # never parses
    deep = "x = " + "(" * 190 + "1" + ")" * 190 + "\n"
    return [
        ("1000 cells, 500,000 chars", many * notebook.MAX_CELLS),
        ("one unparsable 500,000-char cell", [{"cell_type": "code", "source": broken_line}]),
        ("1000 deeply nested cells", [{"cell_type": "code", "source": deep}] * 1000),
    ]


def _grade_seconds(path: Path, results: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "grader", str(path), "--results", str(results), "--quiet"],
        cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start


def main():
    handout = notebooks.build(SOLUTION_PATH.read_text())
    seconds = median_seconds(lambda: notebook.convert(handout), repeats=21)
    print(f"convert the handout-sized notebook ({len(handout):,} bytes): {1000 * seconds:.2f} ms")
    for label, cells in _at_the_limits():
        raw = json.dumps({"cells": cells, "nbformat": 4, "metadata": {}}).encode()
        seconds = median_seconds(lambda raw=raw: notebook.convert(raw), repeats=3)
        print(f"convert at the limits, {label} ({len(raw):,} bytes): {seconds:.3f} s")
    with tempfile.TemporaryDirectory() as scratch:
        upload = Path(scratch) / "gmm1d.ipynb"
        upload.write_bytes(handout)
        results = Path(scratch) / "results.json"
        py, nb = [], []
        for _ in range(GRADE_RUNS):  # interleaved: both see the same machine noise
            py.append(_grade_seconds(SOLUTION_PATH, results))
            nb.append(_grade_seconds(upload, results))
    py_median, nb_median = statistics.median(py), statistics.median(nb)
    print(
        f"grade the reference: .py {py_median:.2f} s, notebook {nb_median:.2f} s "
        f"(median of {GRADE_RUNS}); ratio {nb_median / py_median:.3f}"
    )
