"""results.json repair, validation and writing (grader/report.py)."""

import json
import unittest

from gradescope_utils.autograder_utils.json_test_runner import JSONTestRunner

from grader import checks, config, report


def _tests(outcomes):
    cfg = config.load()
    return [
        report.build_test(i, cid, checks.TITLES[cid], cfg.checks[cid], outcomes[cid])
        for i, cid in enumerate(config.CHECK_IDS, 1)
    ]


def _all(passed=True, **kw):
    return {cid: checks.Outcome(passed, "fb", **kw) for cid in config.CHECK_IDS}


def test_repair_fixes_gradescope_utils_flaws():
    # What JSONTestRunner writes: execution_time as a string, NaN and over-weight scores.
    raw = {
        "tests": [{"name": "x", "score": float("nan"), "max_score": 1}],
        "execution_time": "0.52",
        "score": float("nan"),
        "leaderboard": [],
    }
    tests = _tests(_all())
    tests[0]["score"] = 99.0  # over the max
    tests[1]["score"] = float("nan")
    data = report.repair(
        raw,
        tests,
        output="o",
        execution_time="0.52",
        visibility="visible",
        stdout_visibility="hidden",
    )
    assert data["execution_time"] == 0.52
    assert tests[0]["score"] == tests[0]["max_score"] and tests[1]["score"] == 0.0
    assert data["score"] == sum(t["score"] for t in data["tests"])
    assert "leaderboard" not in data
    assert report.problems(data) == []
    json.dumps(data, allow_nan=False)


def test_problems_catches_nan_and_bad_sums():
    data = report.repair(
        {},
        _tests(_all()),
        output="",
        execution_time=1,
        visibility="visible",
        stdout_visibility="hidden",
    )
    assert report.problems(data) == []
    data["score"] += 1
    assert any("not the sum" in p for p in report.problems(data))
    data["tests"][0]["score"] = float("nan")
    assert any("strict JSON" in p for p in report.problems(data))


def test_student_output_is_appended_to_its_check():
    outcomes = _all(passed=False)
    outcomes["estep_shape"].output = "hello from estep\n"
    tests = _tests(outcomes)
    assert "Your code printed:\nhello from estep" in tests[1]["output"]
    assert "Your code printed" not in tests[2]["output"]


def test_write_atomic_and_table(tmp_path):
    data = report.repair(
        {},
        _tests(_all()),
        output="",
        execution_time=0.5,
        visibility="visible",
        stdout_visibility="hidden",
    )
    path = tmp_path / "deep" / "results.json"
    report.write_atomic(path, data)
    assert json.loads(path.read_text()) == data
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]
    table = report.format_table(data)
    assert "Total: 100/100" in table and table.count("PASS") == 11


def test_runner_calls_post_processor_before_writing(tmp_path):
    # grade.py relies on this gradescope-utils hook: it repairs the dict before the dump.
    seen = {}
    with open(tmp_path / "out.json", "w") as stream:
        JSONTestRunner(stream=stream, post_processor=lambda d: seen.update(d=d)).run(
            unittest.TestSuite()
        )
    assert isinstance(seen["d"]["execution_time"], str)  # the flaw repair() fixes


def test_extra_data_strings_are_made_valid_utf8():
    # A file named b"gmm1d\xff.py" arrives as a surrogate escape; json.dumps would refuse it.
    name = b"gmm1d\xff.py".decode("utf-8", "surrogateescape")
    data = report.repair(
        {},
        _tests(_all()),
        output="",
        execution_time=0,
        visibility="visible",
        stdout_visibility="hidden",
        extra={"submission": name, "complete": True},
    )
    assert report.problems(data) == []
    assert (
        data["extra_data"]["submission"].startswith("gmm1d")
        and data["extra_data"]["complete"] is True
    )
