"""grader/grade.py: the command line and grade_submission's guarantees."""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from grader import checks, config, grade
from grader.paths import PROJECT_ROOT, SOLUTION_PATH
from grader.sandbox import cleanup, isolation


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
    assert data["score"] == 100 and len(data["tests"]) == len(checks.ids())
    assert "Total: 100/100" in proc.stdout and proc.stdout.count("PASS") == len(checks.ids())


def test_a_mistyped_file_is_an_error_not_a_zero(tmp_path):
    proc = _cli(tmp_path / "nothing.py", "--results", tmp_path / "r.json", "--quiet")
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"grader: {tmp_path / 'nothing.py'} does not exist" in proc.stderr
    assert not (tmp_path / "r.json").exists()
    assert _cli(tmp_path, "--results", tmp_path / "r.json").returncode == 2  # a folder
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    make = subprocess.run(
        ["make", "grade", f"SUBMISSION={tmp_path / 'typo.py'}", f"RESULTS={tmp_path / 'r.json'}",
         f"VENV={sys.prefix}"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert make.returncode == 2 and "typo.py does not exist" in make.stderr
    assert not (tmp_path / "r.json").exists()


def test_nothing_uploaded_fails_every_check_naming_gmm1d(tmp_path):
    """What Gradescope's flow and the batch do for an upload without a gmm1d.py."""
    proc = _cli(tmp_path / "nothing.py", "--nothing-uploaded", "--results", tmp_path / "r.json",
                "--quiet")  # fmt: skip
    assert proc.returncode == 0 and proc.stdout == ""
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] == 0
    assert all(t["status"] == "failed" and "gmm1d.py" in t["output"] for t in data["tests"])


def test_help_lists_every_subcommand():
    """Every word grader/__main__.py dispatches on is in ``python -m grader --help``."""
    dispatched = re.findall(
        r'argv\[0\] == "(\w+)"', (PROJECT_ROOT / "grader" / "__main__.py").read_text()
    )
    assert sorted(dispatched) == ["autograde", "batch", "checks", "prairielearn"]
    shown = _cli("--help").stdout
    for word in dispatched:
        assert f"python -m grader {word} " in shown, word
        assert _cli(word, "--help").returncode == 0, word


def test_an_untouched_stub_says_once_at_the_top_that_the_steps_are_not_written(tmp_path):
    proc = _cli(PROJECT_ROOT / "gmm1d.py", "--results", tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["output"].startswith(
        "**Your `estep` and `mstep` are not written yet:** they still raise the starter's "
        "`NotImplementedError`"
    )
    failing = [t for t in data["tests"] if t["status"] == "failed"]
    assert len(failing) == len(checks.ids()) - 1  # all but loads
    for test in failing:
        assert test["output"] in (
            "Your `estep` is not written yet (it raises `NotImplementedError`).",
            "Your `mstep` is not written yet (it raises `NotImplementedError`).",
        ), test["output"]
        assert test["output_format"] == "md"  # nothing of theirs to draw
    assert "Traceback" not in json.dumps(data) and data["output"].count("not written") == 1
    assert proc.stdout.count("is not written yet") == len(failing)  # the table says it too


def test_a_file_name_that_is_not_utf8_still_gives_valid_results(tmp_path):
    weird = os.path.join(os.fsencode(tmp_path), b"gmm1d\xff.py")
    with open(weird, "wb") as handle:
        handle.write(SOLUTION_PATH.read_bytes())
    results = tmp_path / "r.json"
    result = grade.grade_submission(os.fsdecode(weird), results)
    assert result.score == 100 and result.extra["submission"].startswith("gmm1d")
    json.loads(results.read_bytes().decode("utf-8"))  # strict UTF-8 on disk


def test_placeholder_is_written_before_grading(tmp_path, monkeypatch):
    """A grader killed midway leaves a file that awards nothing and says it is unfinished."""
    seen = {}

    def boom(*args, **kwargs):
        seen.update(json.loads((tmp_path / "r.json").read_text()))
        raise KeyboardInterrupt

    monkeypatch.setattr(grade, "_finish", boom)  # killed just before the final write
    try:
        grade.grade_submission(None, tmp_path / "r.json")
    except KeyboardInterrupt:
        pass
    assert seen["score"] == 0 and seen["extra_data"]["complete"] is False
    assert all("stopped before this check ran" in t["output"] for t in seen["tests"])


def test_every_grading_records_and_logs_the_sandbox_layers(tmp_path):
    proc = _cli(SOLUTION_PATH, "--results", tmp_path / "r.json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    sandbox = json.loads((tmp_path / "r.json").read_text())["extra_data"]["sandbox"]
    support = isolation.kernel_support()
    assert sandbox["landlock"] == support.landlock_parts
    assert sandbox["seccomp"] is support.seccomp and sandbox["separate_uid"] == (os.geteuid() == 0)
    assert "grader: sandbox: " in proc.stderr and sandbox["layers"] in proc.stderr


@pytest.mark.parametrize("layer, label", [("landlock", "Landlock"), ("seccomp", "seccomp")])
def test_a_layer_turned_off_is_warned_about_and_recorded(tmp_path, layer, label):
    """GMM1D_SANDBOX_WITHOUT stands for a kernel without the layer: the grader says so at
    start (instructor's log) and in the results, and still grades."""
    env = dict(os.environ, GMM1D_SANDBOX_WITHOUT=layer)
    proc = subprocess.run(
        [sys.executable, "-m", "grader", SOLUTION_PATH, "--results", tmp_path / "r.json"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "grader: WARNING: turned off by GMM1D_SANDBOX_WITHOUT: student code can" in proc.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    error = data["extra_data"].get("grader_error", "")
    if "which would bound a read capability, is unavailable" in error:
        # Root with an interpreter only root can reach (pyenv under /root): without Landlock
        # the worker cannot run confined, and that is our side, never the student's zero.
        assert os.geteuid() == 0 and data["score"] == 0
        assert all(t["extra_data"].get("grader_error") for t in data["tests"])
        return
    assert data["score"] == 100, error
    assert f"{label}: turned off by GMM1D_SANDBOX_WITHOUT" in data["extra_data"]["sandbox"]["off"]


def test_the_graders_own_log_lines_never_reach_a_students_feedback(capfd):
    """Cleanup logs mid-check (a worker killed after a timeout), while the test runner has
    swapped sys.stderr for the buffer that becomes the student's output."""

    def run_check(_check_id):
        cleanup.log("could not remove /autograder/source/private-path")
        return checks.Outcome(True, "fine")

    data = grade._run(config.load(), run_check, note="", started=time.monotonic(), extra={})
    assert data["tests"] and all("private-path" not in t["output"] for t in data["tests"])
    assert "private-path" in capfd.readouterr().err  # the instructor's log has it


def test_grade_submission_returns_the_neutral_result_and_writes_gradescopes_file(tmp_path):
    """The contract other platforms code against (grader/result.py): ordered CheckResults with
    the registry's ids and numbers, totals, the run's facts; Gradescope's file is one writer."""
    from grader.result import CheckResult, GradingResult

    result = grade.grade_submission(None, tmp_path / "r.json", note="nothing here")
    assert isinstance(result, GradingResult) and result.gradable is False
    assert [c.check_id for c in result.checks] == checks.ids()
    assert [c.number for c in result.checks] == list(range(1, len(checks.ids()) + 1))
    assert all(isinstance(c, CheckResult) and not c.passed and c.points == 0 for c in result.checks)
    assert result.score == 0 and result.max_score == 100 and result.summary.startswith("nothing")
    assert result.extra["complete"] is True and result.extra["submission"] is None
    data = json.loads((tmp_path / "r.json").read_text())
    assert [t["extra_data"]["check"] for t in data["tests"]] == checks.ids()
    assert data["output"] == result.summary
