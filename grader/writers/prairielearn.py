"""PrairieLearn's results.json, written from the neutral result (grader/result.py).

PrairieLearn's external-grading format (its docs/externalGrading.md, "Grading results"):
``score`` in [0, 1], ``gradable``, ``message``, ``output``, ``format_errors`` (not gradable)
and ``tests``, each with ``name``, ``description``, ``points``, ``max_points``, ``message``,
``output`` and ``images`` (``{label, url}`` with a base64 ``data:`` URL). Its grader host
refuses a file over 1 MiB.

* The score is the same points as on Gradescope: each check's points, clamped to its
  maximum, summed, divided by the total (100 by default).
* ``gradable`` is false exactly where the student should lose no attempt: nothing gradable was
  uploaded (no gmm1d.py, an unreadable notebook), or the failure was ours (the sandbox could
  not start, a check crashed). A submission that does not import, or whose methods raise,
  is graded (0 for what it fails), as on Gradescope, so both platforms give the same score.
* PrairieLearn renders ``message`` and ``output`` as plain text (ANSI colours aside), so our
  Markdown is written as plain text (grader/feedback.py, ``plain``).
* A check Gradescope would hide (config.ini ``visibility``) keeps its points here, which
  make up the score, but not its feedback: PrairieLearn cannot show it later.
* Figures go in the check's ``images``; their alt text also ends the check's output. When
  they would take the file past ``RESULTS_MAX_BYTES`` they are all left out, and the
  message says so.
"""

import base64

from grader.feedback import plain
from grader.report import encode
from grader.strictjson import RESULTS_MAX_BYTES, finite
from grader.text import block

MESSAGE_CHARS = 4_000
MAX_REASONS = 3  # different check messages repeated in format_errors when not gradable
FIGURES_LEFT_OUT = (
    "(The pictures were left out of this feedback: with them the results would be larger than "
    "PrairieLearn accepts.)"
)
WITHHELD = (
    "The course shows this check's feedback only on Gradescope after a date; "
    "here you see its points only."
)


def _number(value) -> float:
    return max(0.0, finite(value) or 0.0)


def _image(figure) -> dict:
    url = "data:image/png;base64," + base64.b64encode(figure.png).decode("ascii")
    return {"label": plain(figure.caption or figure.alt), "url": url}


def _test(check) -> dict:
    max_points = _number(check.max_points)
    test = {
        "name": f"{check.number}. {check.title}",
        "points": min(_number(check.points), max_points),
        "max_points": max_points,
        "message": "Passed." if check.passed else "Failed.",
        "output": plain(check.feedback),
    }
    if check.internal_error:
        test["message"] = "The grader failed in this check (our side, not your code's fault)."
    if check.visibility != "visible":
        test["output"] = WITHHELD
        return test
    if check.figures:
        test["images"] = [_image(figure) for figure in check.figures]
        alts = "\n".join(f"Picture: {plain(figure.alt)}" for figure in check.figures)
        test["output"] = f"{test['output'].rstrip()}\n\n{alts}"
    return test


def gradable(result) -> bool:
    """False where the student must lose no attempt (see the module docstring)."""
    return bool(result.gradable) and not any(check.internal_error for check in result.checks)


def _results(result) -> dict:
    tests = [_test(check) for check in result.checks]
    total = sum(test["max_points"] for test in tests)
    points = sum(test["points"] for test in tests)
    message = block(plain(result.summary), MESSAGE_CHARS)
    data = {"gradable": gradable(result), "message": message, "tests": tests}
    if data["gradable"]:
        data["score"] = min(1.0, points / total) if total > 0 else 0.0
    else:  # PrairieLearn shows these instead of a score; the attempt is not counted
        # The summary, then each different reason the checks give (they usually all agree:
        # "no gmm1d.py", "the notebook could not be read", "our side").
        reasons = dict.fromkeys(t["output"] for t in tests if t["output"] != WITHHELD)
        data["format_errors"] = [message, *list(reasons)[:MAX_REASONS]]
    return data


def to_prairielearn_dict(result) -> dict:
    """``result`` (grader.result.GradingResult) as PrairieLearn's results.json dict; its
    pictures are left out (and the message says so) when they would not fit the size cap."""
    data = _results(result)
    if result.figure_count and len(encode(data)) > RESULTS_MAX_BYTES:
        data = _results(result.without_figures(FIGURES_LEFT_OUT))
    return data
