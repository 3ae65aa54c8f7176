"""Gradescope's results.json, written from the neutral result (grader/result.py).

Gradescope's format: top-level ``score``, ``execution_time``, ``output`` and its
``output_format``, ``visibility``, ``stdout_visibility``, ``extra_data``, and ``tests``, one
per check in grading order with ``name``, ``number``, ``score``, ``max_score``, ``status``,
``output``, ``output_format``, ``visibility`` and ``extra_data`` (the check's id, the mistakes
diagnosed, and ``grader_error`` when a check failed on our side: the batch reads them back).

Feedback is Markdown (``md``), which Gradescope renders as "some basic Markdown". A test with
pictures is ``html`` instead, since Gradescope shows an image only there: its Markdown
rendered by markdown-it-py (grader/writers/html.py, sanitised), then each figure as a
base64 PNG ``<img>`` with its alt text. When the pictures would take the file past
``RESULTS_MAX_BYTES`` they are all left out, and the top-level output says so.
"""

from grader.report import encode
from grader.strictjson import RESULTS_MAX_BYTES, finite
from grader.text import block
from grader.writers.html import figure_html, markdown_html

TOP_OUTPUT_CHARS = 4_000
EXTRA_TEXT_CHARS = 300  # a string in extra_data (the submission's name may be any bytes)
FIGURES_LEFT_OUT = (
    "(The pictures were left out of this feedback: with them the results would be larger than "
    "Gradescope accepts.)"
)


def _number(value) -> float:
    return max(0.0, finite(value) or 0.0)


def _test(check) -> dict:
    max_score = _number(check.max_points)
    test = {
        "name": check.title,
        "number": str(check.number),
        "score": min(_number(check.points), max_score),
        "max_score": max_score,
        "status": "passed" if check.passed else "failed",
        "output": check.feedback,
        "output_format": "md",
        "visibility": check.visibility,
        "extra_data": {
            "check": check.check_id,
            "mistakes": list(check.mistakes),
            **({"grader_error": True} if check.internal_error else {}),
        },
    }
    if check.figures:
        test["output"] = markdown_html(check.feedback) + "".join(map(figure_html, check.figures))
        test["output_format"] = "html"
    return test


def _results(result) -> dict:
    tests = [_test(check) for check in result.checks]
    return {
        "score": float(sum(test["score"] for test in tests)),
        "execution_time": round(_number(result.execution_time), 3),
        "output": block(result.summary, TOP_OUTPUT_CHARS),
        "output_format": "md",
        "visibility": result.visibility,
        "stdout_visibility": result.stdout_visibility,
        "extra_data": {
            key: block(value, EXTRA_TEXT_CHARS) if isinstance(value, str) else value
            for key, value in result.extra.items()
        },
        "tests": tests,
    }


def to_gradescope_dict(result) -> dict:
    """``result`` (grader.result.GradingResult) as Gradescope's results.json dict; its
    pictures are left out (and the output says so) when they would not fit the size cap."""
    data = _results(result)
    if result.figure_count and len(encode(data)) > RESULTS_MAX_BYTES:
        data = _results(result.without_figures(FIGURES_LEFT_OUT))
    return data
