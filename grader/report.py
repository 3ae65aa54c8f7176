"""The texts of a grading, bounded, and results.json validated and written atomically.

:func:`test_text` is what one check says, in Markdown (its feedback, then what the student's
code printed, as a code block), bounded to what Gradescope keeps (it cuts each field at about
100,000 characters; we keep far less). :func:`problems` is the grader's own last look at the
results dict it is about to write; :func:`write_atomic` writes it so that a reader never sees
half a file.
"""

import json
import os
import tempfile
from pathlib import Path

from grader.feedback import fenced
from grader.strictjson import RESULTS_MAX_BYTES
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


def encode(data) -> bytes:
    """results.json's bytes, exactly as :func:`write_atomic` writes them (strict JSON)."""
    text = json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    return text.encode("utf-8")


def problems(data) -> list:
    """What is wrong with a results dict (empty list when it is valid to write)."""
    found = []
    try:
        encoded = encode(data)
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
    write_text_atomic(path, encode(data).decode("utf-8"), mode)


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
