"""An independent validator for Gradescope ``results.json`` files.

Written from Gradescope's published results format (its autograder documentation:
top-level score, execution_time, output, visibility, tests with score, max_score, status,
name, number, output, output_format, visibility, extra_data) and this project's own, stricter
caps (an ``html`` output holds only what Markdown renders to, and pictures only as PNG data
URLs within the sizes the feedback promises); it
deliberately imports nothing from ``grader/`` so a bug in the grader's report writer cannot
hide itself here.

``problems(raw_bytes)`` returns a list of human-readable problems; an empty list means the
file is one Gradescope would accept and display as intended. ``score`` and ``max_score`` read
a valid file's totals, as Gradescope does.
"""

import base64
import binascii
import json
import math
import re
from html.parser import HTMLParser

MAX_FILE_BYTES = 1_000_000  # Gradescope itself copes with more; a results file this big is a bug
MAX_OUTPUT_CHARS = 20_000  # ours; Gradescope truncates at about 100,000
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
STATUSES = ("passed", "failed")
OUTPUT_FORMATS = ("text", "html", "simple_format", "md", "ansi")  # Gradescope's documented ones
SUM_TOLERANCE = 1e-9
# An html output (Gradescope shows pictures only there): the elements Markdown renders to,
# and images only as PNG data URLs of at least MIN_IMAGE pixels and at most MAX_IMAGE_BYTES.
HTML_TAGS = {"p", "em", "strong", "code", "pre", "ul", "ol", "li", "br", "hr", "blockquote",
             "h1", "h2", "h3", "h4", "h5", "h6", "img"}  # fmt: skip
HTML_ATTRIBUTES = {"img": {"src", "alt", "width", "height"}, "code": {"class"}, "ol": {"start"}}
PNG_DATA_URL = "data:image/png;base64,"
MIN_IMAGE = (400, 250)
MAX_IMAGE_BYTES = 150_000
_DATA_URL = re.compile(r'src="data:image/png;base64,[A-Za-z0-9+/=]*"')


def _reject_constant(name):
    # json.loads accepts NaN, Infinity and -Infinity by default; Gradescope's parser does not.
    raise ValueError(f"non-standard JSON constant {name}")


def _is_finite_number(value):
    # bool is an int subclass: True is not a score.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class _Html(HTMLParser):
    """Every problem of an html output: an element or attribute Markdown does not make, an
    image that is not a PNG data URL within the sizes, or without alt text."""

    def __init__(self, where):
        super().__init__(convert_charrefs=True)
        self.where, self.found, self.images = where, [], 0

    def handle_starttag(self, tag, attrs):
        if tag not in HTML_TAGS:
            self.found.append(f"{self.where}: <{tag}> is not allowed")
            return
        attributes = dict(attrs)
        extra = set(attributes) - HTML_ATTRIBUTES.get(tag, set())
        if extra:
            self.found.append(f"{self.where}: <{tag}> has attributes {sorted(extra)}")
        if tag == "img":
            self.images += 1
            self.found.extend(_image_problems(self.where, attributes))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


def _image_problems(where, attributes):
    src = attributes.get("src") or ""
    if not src.startswith(PNG_DATA_URL):
        return [f"{where}: an image whose src is not a PNG data URL: {src[:60]!r}"]
    try:
        png = base64.b64decode(src[len(PNG_DATA_URL) :], validate=True)
    except (binascii.Error, ValueError):
        return [f"{where}: an image whose data is not base64"]
    found = []
    if not (png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"):
        return [f"{where}: an image that is not a PNG"]
    size = (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big"))
    if size[0] < MIN_IMAGE[0] or size[1] < MIN_IMAGE[1]:
        found.append(f"{where}: an image of {size[0]}x{size[1]} px (at least {MIN_IMAGE})")
    if len(png) > MAX_IMAGE_BYTES:
        found.append(f"{where}: an image of {len(png)} bytes (at most {MAX_IMAGE_BYTES})")
    if not (attributes.get("alt") or "").strip():
        found.append(f"{where}: an image without alt text")
    return found


def html_problems(where, output):
    """Problems of an html output (see _Html); the text, images aside, is capped too."""
    page = _Html(where)
    page.feed(output)
    page.close()
    text = _DATA_URL.sub('src=""', output)
    if len(text) > MAX_OUTPUT_CHARS:
        page.found.append(f"{where}.output has {len(text)} characters besides its images")
    return page.found


def _test_problems(index, test):
    where = f"tests[{index}]"
    if not isinstance(test, dict):
        return [f"{where} is {type(test).__name__}, not an object"]
    found = []
    for key in ("name", "number", "output"):
        if not isinstance(test.get(key), str):
            found.append(f"{where}.{key} missing or not a string: {test.get(key)!r:.80}")
    output = test.get("output")
    if isinstance(output, str) and test.get("output_format") == "html":
        found.extend(html_problems(where, output))
    elif isinstance(output, str) and len(output) > MAX_OUTPUT_CHARS:
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
