"""An independent validator for Gradescope ``results.json`` files.

Written from Gradescope's published results format (its autograder documentation:
top-level score, execution_time, output, visibility, tests with score, max_score, status,
name, number, output, visibility, extra_data) and this project's own, stricter caps; it
deliberately imports nothing from ``grader/`` so a bug in the grader's report writer cannot
hide itself here.

``problems(raw_bytes)`` returns a list of human-readable problems; an empty list means the
file is one Gradescope would accept and display as intended. ``score`` and ``max_score`` read
a valid file's totals, as Gradescope does.
"""

import json
import math

MAX_FILE_BYTES = 1_000_000  # Gradescope itself copes with more; a results file this big is a bug
MAX_OUTPUT_CHARS = 20_000  # ours; Gradescope truncates at about 100,000
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
STATUSES = ("passed", "failed")
OUTPUT_FORMATS = ("text", "html", "simple_format", "md", "ansi")  # Gradescope's documented ones
SUM_TOLERANCE = 1e-9


def _reject_constant(name):
    # json.loads accepts NaN, Infinity and -Infinity by default; Gradescope's parser does not.
    raise ValueError(f"non-standard JSON constant {name}")


def _is_finite_number(value):
    # bool is an int subclass: True is not a score.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _test_problems(index, test):
    where = f"tests[{index}]"
    if not isinstance(test, dict):
        return [f"{where} is {type(test).__name__}, not an object"]
    found = []
    for key in ("name", "number", "output"):
        if not isinstance(test.get(key), str):
            found.append(f"{where}.{key} missing or not a string: {test.get(key)!r:.80}")
    output = test.get("output")
    if isinstance(output, str) and len(output) > MAX_OUTPUT_CHARS:
        found.append(f"{where}.output has {len(output)} characters (cap {MAX_OUTPUT_CHARS})")
    score, max_score = test.get("score"), test.get("max_score")
    for key, value in (("score", score), ("max_score", max_score)):
        if not _is_finite_number(value):
            found.append(f"{where}.{key} is not a finite number: {value!r:.80}")
    if _is_finite_number(score) and _is_finite_number(max_score) and not 0 <= score <= max_score:
        found.append(f"{where}.score {score} outside [0, max_score={max_score}]")
    if test.get("status") not in STATUSES:
        found.append(f"{where}.status {test.get('status')!r:.80} not in {STATUSES}")
    if test.get("visibility") not in VISIBILITIES:
        found.append(f"{where}.visibility {test.get('visibility')!r:.80} not in {VISIBILITIES}")
    if "output_format" in test and test["output_format"] not in OUTPUT_FORMATS:
        found.append(f"{where}.output_format {test['output_format']!r:.80} not in {OUTPUT_FORMATS}")
    return found


def problems(raw_bytes):
    """Everything wrong with a results.json given as bytes; [] when it is valid."""
    if not isinstance(raw_bytes, (bytes, bytearray)):
        return [f"expected bytes, got {type(raw_bytes).__name__}"]
    found = []
    if len(raw_bytes) >= MAX_FILE_BYTES:
        found.append(f"file is {len(raw_bytes)} bytes (must be < {MAX_FILE_BYTES})")
    try:
        text = bytes(raw_bytes).decode("utf-8")
    except UnicodeDecodeError as error:
        return found + [f"not valid UTF-8: {error}"]
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:  # JSONDecodeError is a ValueError, and so is ours
        return found + [f"not strict JSON: {error}"]
    if not isinstance(data, dict):
        return found + [f"top level is {type(data).__name__}, not an object"]
    for key in ("score", "execution_time"):
        if not _is_finite_number(data.get(key)):
            found.append(f"{key} missing or not a finite number: {data.get(key)!r:.80}")
    if "output" in data and not isinstance(data["output"], str):
        found.append("top-level output is not a string")
    elif isinstance(data.get("output"), str) and len(data["output"]) > MAX_OUTPUT_CHARS:
        found.append(
            f"top-level output has {len(data['output'])} characters (cap {MAX_OUTPUT_CHARS})"
        )
    if "output_format" in data and data["output_format"] not in OUTPUT_FORMATS:
        found.append(f"top-level output_format {data['output_format']!r:.80} not accepted")
    if "visibility" in data and data["visibility"] not in VISIBILITIES:
        found.append(f"top-level visibility {data['visibility']!r:.80} not in {VISIBILITIES}")
    tests = data.get("tests")
    if not isinstance(tests, list):
        return found + [f"tests missing or not a list: {type(tests).__name__}"]
    for index, test in enumerate(tests):
        found.extend(_test_problems(index, test))
    scores = [t.get("score") for t in tests if isinstance(t, dict)]
    if _is_finite_number(data.get("score")) and all(_is_finite_number(s) for s in scores):
        if len(scores) == len(tests) and abs(data["score"] - math.fsum(scores)) > SUM_TOLERANCE:
            found.append(f"score {data['score']} != sum of test scores {math.fsum(scores)}")
    return found


def score(results):
    """The total Gradescope shows: the top-level score if present, else the tests' sum."""
    if "score" in results:
        return results["score"]
    return sum(test["score"] for test in results["tests"])


def max_score(results):
    return sum(test.get("max_score", 0) for test in results["tests"])
