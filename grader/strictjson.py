"""The one strict JSON reader, and the one test of a finite number.

Everything the grader reads as JSON may come from a hostile process (the sandbox worker's
reply headers, results files a submission could have forged, a class export), so it is read
strictly: valid UTF-8, no NaN or Infinity (not JSON, and Gradescope rejects them), no float
that overflows to infinity, a size cap, and nothing that can raise anything but
:class:`JSONError`. Standard library only: the sandbox worker receives this file's source
text, and ``run_autograder`` imports it with the system Python when the virtualenv itself
may be what is broken.
"""

import json
import math
import os

RESULTS_MAX_BYTES = 1_000_000  # the largest results.json the grader writes, so the largest it
# reads back (grader/report.py, grader/batch/results.py, run_autograder)


class JSONError(ValueError):
    """Bytes that are not strict JSON (the message says why)."""


def finite(value):
    """``value`` as a float when it is a finite int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _reject_constant(name):
    raise JSONError(f"JSON constant {name} is not allowed")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise JSONError("non-finite number")
    return value


def loads(raw, max_bytes=None):
    """Strict JSON from ``raw`` (bytes or str); raises JSONError."""
    if max_bytes is not None and len(raw) > max_bytes:
        raise JSONError(f"{len(raw)} bytes, over {max_bytes}")
    try:
        text = bytes(raw).decode("utf-8") if not isinstance(raw, str) else raw
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except JSONError:
        raise
    except Exception as exc:  # ValueError, UnicodeDecodeError, RecursionError, ...
        raise JSONError(f"not valid JSON ({type(exc).__name__})") from None


def load_path(path, max_bytes):
    """Strict JSON from the file at ``path`` (never through a link); raises JSONError or
    OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read(max_bytes + 1)
    return loads(raw, max_bytes)


def is_final_results(data) -> bool:
    """True for a Gradescope results dict that is a final answer: a "tests" list or a
    numeric "score", and not the grader's placeholder (extra_data.complete false)."""
    if not isinstance(data, dict):
        return False
    ok = isinstance(data.get("tests"), list) or finite(data.get("score")) is not None
    extra = data.get("extra_data")
    return ok and not (isinstance(extra, dict) and extra.get("complete") is False)
