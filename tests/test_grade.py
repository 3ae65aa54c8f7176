"""grader/grade.py: the command line and grade_submission's guarantees."""

import json
import os
import subprocess
import sys

from grader import grade
from grader.paths import PROJECT_ROOT, SOLUTION_PATH


def _cli(*args, cwd=PROJECT_ROOT):
    return subprocess.run(
        [sys.executable, "-m", "grader", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_reference_gets_full_marks_and_a_table(tmp_path):
    proc = _cli(SOLUTION_PATH, "--results", tmp_path / "r.json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] == 100 and len(data["tests"]) == 11
    assert "Total: 100/100" in proc.stdout and proc.stdout.count("PASS") == 11


def test_missing_file_fails_every_check_naming_gmm1d(tmp_path):
    proc = _cli(tmp_path / "nothing.py", "--results", tmp_path / "r.json", "--quiet")
    assert proc.returncode == 0 and proc.stdout == ""
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] == 0
    assert all(t["status"] == "failed" and "gmm1d.py" in t["output"] for t in data["tests"])


def test_a_file_name_that_is_not_utf8_still_gives_valid_results(tmp_path):
    weird = os.path.join(os.fsencode(tmp_path), b"gmm1d\xff.py")
    with open(weird, "wb") as handle:
        handle.write(SOLUTION_PATH.read_bytes())
    results = tmp_path / "r.json"
    data = grade.grade_submission(os.fsdecode(weird), results)
    assert data["score"] == 100
    json.loads(results.read_bytes().decode("utf-8"))  # strict UTF-8 on disk


def test_placeholder_is_written_before_grading(tmp_path, monkeypatch):
    """A grader killed midway leaves a file that awards nothing and says it is unfinished."""
    seen = {}

    def boom(*args, **kwargs):
        seen.update(json.loads((tmp_path / "r.json").read_text()))
        raise KeyboardInterrupt

    monkeypatch.setattr(grade, "_run", boom)
    try:
        grade.grade_submission(None, tmp_path / "r.json")
    except KeyboardInterrupt:
        pass
    assert seen["score"] == 0 and seen["extra_data"]["complete"] is False
    assert all("stopped before this check ran" in t["output"] for t in seen["tests"])
