"""results.json: complete what gradescope-utils' runner writes, validate it, write it
atomically, and render the table the command line prints.

The runner builds one test per check from the decorators (name, number, weight, score,
status, visibility) and what the test printed or failed with. :func:`complete` is its
``post_processor``: it adds what the runner has no field for (each check's id, diagnosed
mistakes and grading errors in ``extra_data``; the top-level output, visibilities and
extra_data), and mends the runner's known flaws in gradescope-utils 0.5.0: it writes
``execution_time`` as a string, never clamps a score to its weight, and writes NaN
literally. It also bounds every text to what Gradescope keeps (it cuts each field at about
100,000 characters; we keep far less).
"""

import json
import os
import tempfile
from pathlib import Path

from grader.feedback import fenced, plain
from grader.strictjson import RESULTS_MAX_BYTES, finite
from grader.text import block

TEST_OUTPUT_CHARS = 10_000  # per test; Gradescope cuts at ~100,000
TOP_OUTPUT_CHARS = 4_000


PRINTED_MIN_CHARS = 500  # what the student's code printed always gets at least this much room


def test_text(outcome) -> str:
    """What a check's test says, in Markdown: its feedback, then what the student's code
    printed, as a code block (where none of it can read as Markdown). At most
    ``TEST_OUTPUT_CHARS`` in all, cut where the block stays whole."""
    if not outcome.output:
        return block(outcome.feedback, TEST_OUTPUT_CHARS)
    heading = "\n\nYour code printed:\n\n"
    text = block(outcome.feedback, TEST_OUTPUT_CHARS - PRINTED_MIN_CHARS - len(heading) - 100)
    return text + heading + _printed(outcome.output, TEST_OUTPUT_CHARS - len(text) - len(heading))


def _printed(output, room) -> str:
    """``output`` as a code block of at most ``room`` characters, its fences included (they
    grow with the longest run of backticks it holds, so the text is cut until they fit)."""
    limit = room
    while True:
        piece = fenced(block(output, max(limit, 0)))
        if len(piece) <= room or limit <= 0:
            return piece
        limit -= len(piece) - room


def complete(json_data, outcomes, *, output, execution_time, visibility, stdout_visibility,
             extra=None):  # fmt: skip
    """Post-processor for gradescope-utils (see the module docstring), in place.

    ``outcomes``: (check id, Outcome or None) in grading order, one per test the runner ran.
    """
    tests = json_data.get("tests", [])
    if [t.get("number") for t in tests] != [str(n) for n in range(1, len(outcomes) + 1)]:
        # Our tests never error outside their own try/except, so this is a bug of ours.
        raise RuntimeError(f"the test runner reported {len(tests)} tests, not {len(outcomes)}")
    for test, (check_id, outcome) in zip(tests, outcomes):
        test["max_score"] = max(0.0, finite(test.get("max_score")) or 0.0)
        test["score"] = min(max(0.0, finite(test.get("score")) or 0.0), test["max_score"])
        test["output"] = block(test.get("output", "").rstrip("\n"), TEST_OUTPUT_CHARS)
        test["output_format"] = "md"
        test["extra_data"] = {
            "check": check_id,
            "mistakes": list(outcome.mistakes) if outcome else [],
            **({"grader_error": True} if outcome and outcome.internal_error else {}),
        }
    json_data["score"] = float(sum(t["score"] for t in tests))
    json_data["execution_time"] = round(max(0.0, finite(execution_time) or 0.0), 3)
    json_data["output"] = block(output, TOP_OUTPUT_CHARS)
    json_data["output_format"] = "md"
    json_data["visibility"] = visibility
    json_data["stdout_visibility"] = stdout_visibility
    json_data.pop("leaderboard", None)  # no leaderboard in this lab
    # extra_data holds the submission's file name, which may be any bytes (not UTF-8).
    json_data["extra_data"] = {
        key: block(value, 300) if isinstance(value, str) else value
        for key, value in (extra or {}).items()
    }


def problems(data) -> list:
    """What is wrong with a results dict (empty list when it is valid to write)."""
    found = []
    try:
        encoded = json.dumps(data, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        return [f"not strict JSON: {exc}"]
    if len(encoded) > RESULTS_MAX_BYTES:
        found.append(f"{len(encoded)} bytes, over {RESULTS_MAX_BYTES}")
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


def write_atomic(path, data, mode=0o644) -> None:
    """Write JSON to ``path`` via a temp file and rename, so a reader never sees half a file."""
    text = json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    write_text_atomic(path, text, mode)


def write_text_atomic(path, text, mode=0o644) -> None:
    """Write ``text`` to ``path`` via a temp file and rename, the file ending with ``mode``
    (the batch's own outputs are 0600: names, SIDs, emails and feedback)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _first_line(text, width) -> str:
    line = plain(text.strip().splitlines()[0]) if text.strip() else ""
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
