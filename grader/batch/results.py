"""Each submission's results file in ``OUT/results/``: read back strictly, told apart
from a failure on our side, and written (for the batch's own records) readable by the
instructor only.
"""

import json
from pathlib import Path

from grader.batch.records import grader_problem
from grader.report import write_text_atomic
from grader.strictjson import RESULTS_MAX_BYTES, JSONError, finite, load_path

LOG_TAIL_CHARS = 2000


def load_results(path: Path) -> dict | None:
    """The results.json at ``path`` if it is one we can use, else None.

    Defensive: never through a link, a size cap, strict JSON (no NaN/Infinity), a dict with a
    ``tests`` list whose entries have finite numeric ``score`` and ``max_score``, and a finite
    ``score`` if given.
    """
    try:
        data = load_path(path, RESULTS_MAX_BYTES)
    except (OSError, JSONError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        return None
    if "score" in data and finite(data["score"]) is None:
        return None
    for test in data["tests"]:
        if not isinstance(test, dict) or None in (finite(test.get("score")),
                                                  finite(test.get("max_score"))):  # fmt: skip
            return None
    return data


def previous_seconds(data: dict | None) -> float:
    """How long this submission took last time (0 if never graded), from its loaded results.
    A rerun (--redo, or a retry after failures on our side) starts the slowest first: a
    submission that hangs for its whole time limit then overlaps the rest instead of
    finishing the batch alone. sorted() is stable, so first runs keep the export's order."""
    return (finite(data.get("execution_time")) if data else None) or 0.0


def is_graded(data: dict | None) -> bool:
    """Loaded results that are a grade (not a failure on our side, see grader_problem)."""
    return data is not None and not grader_problem(data)


def failure_results(reason: str, seconds: float, log_tail: str) -> dict:
    """The results.json written when the grader itself failed for a submission."""
    return {
        "score": 0,
        "execution_time": round(seconds, 3),
        "output": (
            f"The grader failed on our side for this submission ({reason}). This is not a grade: "
            "the batch recorded no score for it. Rerun the batch to retry."
        ),
        "tests": [],
        "extra_data": {"batch_error": reason, "grader_log_tail": log_tail},
    }


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the instructor only (mode 0600)."""
    write_text_atomic(path, text, 0o600)


def write_failure(path: Path, reason: str, seconds: float, log_tail: str) -> None:
    """Record, privately, that the grader itself failed for this submission."""
    write_private(path, json.dumps(failure_results(reason, seconds, log_tail), indent=2))
