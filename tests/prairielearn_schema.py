"""An independent validator for PrairieLearn ``results.json`` files.

Written from PrairieLearn's documentation (docs/externalGrading.md, "Grading results", and
the grader host's 1 MiB cap in apps/grader-host): a gradable result has a numeric ``score``
in [0, 1]; a result that is not gradable has ``gradable: false`` and may carry
``format_errors`` (a string or a list of strings); ``message`` and ``output`` are strings;
``images`` (top level or per test) are ``{url, label}`` objects or bare URL strings; each test
has ``name``, and for the per-test points display every test needs both ``points`` and
``max_points``. Stricter where this project promises more (every test carries points, images
are PNG data URLs). Imports nothing from ``grader/``.
"""

import base64
import binascii
import json
import math

MAX_FILE_BYTES = 1024 * 1024  # the grader host refuses larger files
TEST_KEYS = {"name", "description", "points", "max_points", "message", "output", "images"}
TOP_KEYS = {"gradable", "score", "message", "output", "images", "tests", "format_errors"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _image_problems(where, images):
    if not isinstance(images, list):
        return [f"{where}.images is not a list"]
    found = []
    for i, image in enumerate(images):
        url = (
            image
            if isinstance(image, str)
            else image.get("url")
            if isinstance(image, dict)
            else None
        )
        if not isinstance(url, str):
            found.append(f"{where}.images[{i}] has no url")
            continue
        if isinstance(image, dict) and not isinstance(image.get("label", ""), str):
            found.append(f"{where}.images[{i}].label is not a string")
        prefix = "data:image/png;base64,"
        if not url.startswith(prefix):
            found.append(f"{where}.images[{i}] is not a PNG data URL")
            continue
        try:
            png = base64.b64decode(url[len(prefix) :], validate=True)
        except (binascii.Error, ValueError):
            found.append(f"{where}.images[{i}] is not valid base64")
            continue
        if not png.startswith(PNG_MAGIC):
            found.append(f"{where}.images[{i}] does not hold a PNG")
    return found


def _test_problems(i, test):
    where = f"tests[{i}]"
    if not isinstance(test, dict):
        return [f"{where} is not an object"]
    found = [f"{where} has unknown key {key!r}" for key in set(test) - TEST_KEYS]
    if not isinstance(test.get("name"), str) or not test["name"]:
        found.append(f"{where}.name missing")
    for key in ("points", "max_points"):  # all-or-nothing in the display: we always give both
        if not _number(test.get(key)) or test[key] < 0:
            found.append(f"{where}.{key} is not a number >= 0")
    if not found and test["points"] > test["max_points"] + 1e-9:
        found.append(f"{where}.points above max_points")
    for key in ("description", "message", "output"):
        if key in test and not isinstance(test[key], str):
            found.append(f"{where}.{key} is not a string")
    if "images" in test:
        found += _image_problems(where, test["images"])
    return found


def problems(raw_bytes):
    """What is wrong with ``raw_bytes`` as a PrairieLearn results.json (empty: nothing)."""
    if len(raw_bytes) > MAX_FILE_BYTES:
        return [f"{len(raw_bytes)} bytes, over PrairieLearn's {MAX_FILE_BYTES}"]
    try:
        data = json.loads(raw_bytes.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        return [f"not strict JSON: {exc}"]
    if not isinstance(data, dict):
        return ["not a JSON object"]
    found = [f"unknown top-level key {key!r}" for key in set(data) - TOP_KEYS]
    gradable = data.get("gradable", True)
    if not isinstance(gradable, bool):
        found.append("gradable is not a boolean")
    elif gradable:
        score = data.get("score")
        if not _number(score) or not 0 <= score <= 1:
            found.append(f"a gradable result needs a score in [0, 1], not {score!r}")
    else:
        errors = data.get("format_errors", [])
        errors = [errors] if isinstance(errors, str) else errors
        if not isinstance(errors, list) or not all(isinstance(e, str) for e in errors):
            found.append("format_errors is not a string or a list of strings")
    for key in ("message", "output"):
        if key in data and not isinstance(data[key], str):
            found.append(f"{key} is not a string")
    if "images" in data:
        found += _image_problems("top", data["images"])
    tests = data.get("tests", [])
    if not isinstance(tests, list):
        return found + ["tests is not a list"]
    for i, test in enumerate(tests):
        found += _test_problems(i, test)
    return found


def score(data):
    """The fraction PrairieLearn records (None when not gradable)."""
    return data["score"] if data.get("gradable", True) else None
