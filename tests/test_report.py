"""The neutral result's Gradescope results.json (grader/writers/gradescope.py), validated
and written (grader/report.py), the terminal table (grader/writers/terminal.py), and the
whole path through grade._run."""

import dataclasses
import json
import time

from grader import checks, config, grade, report
from grader.writers.gradescope import to_gradescope_dict
from grader.writers.terminal import format_table


def _all(passed=True, **kw):
    return lambda check_id: checks.Outcome(passed, f"feedback of {check_id}", **kw)


def _graded(run_check, extra=None):
    return grade._run(
        config.load(), run_check, note="", started=time.monotonic(), extra=extra or {}
    )


def test_every_registered_check_becomes_one_runner_test_in_order():
    data = _graded(_all())
    assert [t["extra_data"]["check"] for t in data["tests"]] == checks.ids()
    assert [t["number"] for t in data["tests"]] == [str(n) for n in range(1, len(checks.ids()) + 1)]
    for test, check_id in zip(data["tests"], checks.ids()):
        spec = checks.REGISTRY[check_id]
        assert test["name"] == spec.title and test["max_score"] == spec.points
        assert test["score"] == spec.points and test["status"] == "passed"
        assert test["output"] == f"feedback of {check_id}"
    assert data["score"] == 100 and isinstance(data["execution_time"], float)
    assert report.problems(data) == []


def test_a_failed_check_scores_nothing_and_keeps_its_feedback_and_mistakes():
    def run_check(check_id):
        if check_id == "estep_values":
            return checks.Outcome(False, "expected [1], got [2]", ["priors_ignored"])
        return checks.Outcome(True, "ok")

    data = _graded(run_check)
    by_check = {t["extra_data"]["check"]: t for t in data["tests"]}
    failed = by_check["estep_values"]
    assert failed["status"] == "failed" and failed["score"] == 0
    assert failed["output"] == "expected [1], got [2]"
    assert failed["extra_data"]["mistakes"] == ["priors_ignored"]
    assert data["score"] == 100 - checks.REGISTRY["estep_values"].points


def test_student_output_follows_its_checks_feedback_as_a_code_block():
    def run_check(check_id):
        printed = "hello from estep\n" if check_id == "estep_shape" else ""
        if check_id == "estep_pmf":  # trying to break out of the block, and to format
            printed = "```\n**bold** [link](http://x) <b>html</b>\n"
        return checks.Outcome(False, "fb", output=printed)

    tests = _graded(run_check)["tests"]
    assert tests[1]["output"] == "fb\n\nYour code printed:\n\n```\nhello from estep\n```"
    assert tests[2]["output"] == (
        "fb\n\nYour code printed:\n\n````\n```\n**bold** [link](http://x) <b>html</b>\n````"
    )
    assert "Your code printed" not in tests[3]["output"]
    assert all(t["output_format"] == "md" for t in tests)


def _result(run_check):
    return grade.grading_result(
        config.load(), run_check, note="", started=time.monotonic(), extra={}
    )


def test_the_writer_clamps_scores_and_writes_numbers():
    """Whatever a result holds, results.json has each score within [0, its weight], NaN as
    0, and execution_time as a number (Gradescope's parser rejects NaN and a string)."""
    result = _result(_all())
    first, second = result.checks[1], result.checks[2]
    odd = dataclasses.replace(
        result,
        checks=(
            result.checks[0],
            dataclasses.replace(first, points=first.max_points + 99),
            dataclasses.replace(second, points=float("nan")),
            *result.checks[3:],
        ),
        execution_time=0.5234,
    )
    data = to_gradescope_dict(odd)
    assert data["execution_time"] == 0.523
    assert data["tests"][1]["score"] == first.max_points and data["tests"][2]["score"] == 0.0
    assert data["score"] == 100 - second.max_points
    assert report.problems(data) == []


def test_problems_catches_nan_and_bad_sums():
    data = _graded(_all())
    assert report.problems(data) == []
    data["score"] += 1
    assert any("not the sum" in p for p in report.problems(data))
    data["tests"][0]["score"] = float("nan")
    assert any("strict JSON" in p for p in report.problems(data))


def test_write_atomic_and_table(tmp_path):
    data = _graded(_all())
    path = tmp_path / "deep" / "results.json"
    report.write_atomic(path, data)
    assert json.loads(path.read_text()) == data
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]
    table = format_table(_result(_all()))
    assert "Total: 100/100" in table and table.count("PASS") == len(checks.ids())


def test_extra_data_strings_are_made_valid_utf8():
    # A file named b"gmm1d\xff.py" arrives as a surrogate escape; json.dumps would refuse it.
    name = b"gmm1d\xff.py".decode("utf-8", "surrogateescape")
    data = _graded(_all(), extra={"submission": name, "complete": True})
    assert report.problems(data) == []
    assert data["extra_data"]["submission"].startswith("gmm1d")
    assert data["extra_data"]["complete"] is True


def test_printed_output_that_fills_the_test_stays_one_closed_block():
    """Backticks make the fence longer: the printed text is cut so that the fences fit, and
    the note counts what was really dropped."""
    printed = "`" * 4000 + "x" * 20_000

    def run_check(check_id):
        return checks.Outcome(False, "fb", output=printed if check_id == "estep_shape" else "")

    output = _graded(run_check)["tests"][1]["output"]
    assert len(output) <= report.TEST_OUTPUT_CHARS
    body = output.split("Your code printed:\n\n", 1)[1]
    fence = body[: body.index("\n")]
    assert set(fence) == {"`"} and body.endswith("\n" + fence)
    shown = body[len(fence) + 1 : -len(fence) - 1].split("\n[... ")[0]
    dropped = int(body.split("\n[... ")[1].split(" more characters")[0])
    assert printed.startswith(shown) and len(shown) + dropped == len(printed)
    assert len(fence) > max(len(run) for run in shown.split("x") if run)  # no run closes it


def test_the_table_gives_each_failures_likely_causes_a_line_of_their_own_uncut():
    """The first line of a failing check's feedback fits its row; every likely cause follows
    on its own line(s), whole, however long (the batch's logs print this table too)."""
    from grader.diagnosis import MISTAKES

    def run_check(check_id):
        if check_id == "mstep_variances":
            return checks.Outcome(False, "M-step, k = 3, variances: " + "x" * 200,
                                  ["variance_old_mean", "unbiased_variance"])  # fmt: skip
        return checks.Outcome(True, "ok")

    table = format_table(_result(run_check), width=110)
    lines = table.splitlines()
    assert all(len(line) <= 110 for line in lines)
    row = next(i for i, line in enumerate(lines) if "mstep_variances" in line)
    assert lines[row].endswith("...")
    causes = lines[row + 1 : row + 6]
    flat = " ".join(line.strip() for line in causes)
    for key in ("variance_old_mean", "unbiased_variance"):
        assert f"likely cause: {MISTAKES[key]}" in flat
    assert sum(line.strip().startswith("likely cause:") for line in causes) == 2
    assert "likely cause" not in "\n".join(lines[:row] + lines[row + 6 :])
