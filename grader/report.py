"""results.json: repair what gradescope-utils writes, validate it, write it atomically,
and render the table the command line prints.

gradescope-utils 0.5.0's JSONTestRunner has known flaws (../shared/reference/gradescope.md):
``execution_time`` as a string, scores not clamped to ``max_score``, NaN written literally,
tests dropped in some failure modes. ``repair`` is its ``post_processor``: it rebuilds every
test from our own list of checks, so the file always holds each check exactly once, with
finite numbers, bounded UTF-8 text and ``score`` equal to the sum of the tests.
"""

import json
import math
import os
import tempfile
from pathlib import Path

from grader.text import block

TEST_OUTPUT_CHARS = 10_000  # per test; Gradescope cuts at ~100,000
TOP_OUTPUT_CHARS = 4_000
MAX_FILE_BYTES = 1_000_000


def _finite(value, default=0.0) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def build_test(number, check_id, title, settings, outcome) -> dict:
    """One Gradescope test entry for a check."""
    points = _finite(settings.points)
    score = points if outcome.passed else 0.0
    text = outcome.feedback
    if outcome.output:
        text += "\n\nYour code printed:\n" + outcome.output
    return {
        "name": title,
        "number": str(number),
        "score": score,
        "max_score": points,
        "status": "passed" if outcome.passed else "failed",
        "output": block(text, TEST_OUTPUT_CHARS),
        "visibility": settings.visibility,
        "extra_data": {
            "check": check_id,
            "mistakes": list(outcome.mistakes),
            **({"grader_error": True} if outcome.internal_error else {}),
        },
    }


def repair(json_data, tests, *, output, execution_time, visibility, stdout_visibility, extra=None):
    """Post-processor for gradescope-utils: replace its tests with ``tests`` (already built
    from our outcomes, one per check in order) and fix the top-level fields in place."""
    json_data["tests"] = tests
    json_data.pop("leaderboard", None)
    for test in tests:
        test["max_score"] = max(0.0, _finite(test.get("max_score")))
        test["score"] = min(max(0.0, _finite(test.get("score"))), test["max_score"])
    json_data["score"] = float(sum(t["score"] for t in tests))
    json_data["execution_time"] = round(max(0.0, _finite(execution_time)), 3)
    json_data["output"] = block(output, TOP_OUTPUT_CHARS)
    json_data["visibility"] = visibility
    json_data["stdout_visibility"] = stdout_visibility
    # extra_data holds the submission's file name, which may be any bytes (not UTF-8).
    json_data["extra_data"] = {
        key: block(value, 300) if isinstance(value, str) else value
        for key, value in (extra or {}).items()
    }
    return json_data


def problems(data) -> list:
    """What is wrong with a results dict (empty list when it is valid to write)."""
    found = []
    try:
        encoded = json.dumps(data, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        return [f"not strict JSON: {exc}"]
    if len(encoded) > MAX_FILE_BYTES:
        found.append(f"{len(encoded)} bytes, over {MAX_FILE_BYTES}")
    tests = data.get("tests", [])
    total = sum(t.get("score", 0) for t in tests)
    if abs(total - data.get("score", -1)) > 1e-9:
        found.append(f"score {data.get('score')} is not the sum of the tests ({total})")
    if not isinstance(data.get("execution_time"), (int, float)):
        found.append("execution_time is not a number")
    for t in tests:
        if not 0 <= t["score"] <= t["max_score"]:
            found.append(
                f"test {t.get('number')}: score {t['score']} outside [0, {t['max_score']}]"
            )
    return found


def write_atomic(path, data) -> None:
    """Write JSON to ``path`` via a temp file and rename, so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, allow_nan=False, ensure_ascii=False)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _first_line(text, width) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def format_table(data, width=110) -> str:
    """The human-readable summary: one line per check (its config id), then the total."""
    lines = [f"{'#':>2}  {'check':<16} {'points':>7}  status  reason", "-" * width]
    for t in data["tests"]:
        check = t.get("extra_data", {}).get("check", t["name"])
        points = f"{t['score']:g}/{t['max_score']:g}"
        status = "PASS" if t["status"] == "passed" else "FAIL"
        lines.append(
            f"{t['number']:>2}  {check:<16} {points:>7}  {status:<6}  "
            f"{_first_line(t.get('output', ''), width - 37)}"
        )
    total = sum(t["max_score"] for t in data["tests"])
    lines += ["-" * width, f"Total: {data['score']:g}/{total:g}   ({data['execution_time']:.2f} s)"]
    return "\n".join(lines)
