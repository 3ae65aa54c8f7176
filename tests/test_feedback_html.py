"""Feedback with pictures as Gradescope shows it: an ``html`` test output (its Markdown
rendered by grader/writers/html.py, sanitised, each figure a PNG data URL), checked by the
independent validator (tests/results_schema.py), in headless Chromium, and end to end from
the command line."""

import base64
import dataclasses
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader import checks, config, grade, report
from grader.cases import Params
from grader.figure_data import MstepValues
from grader.paths import PROJECT_ROOT, SOLUTION_PATH
from grader.strictjson import RESULTS_MAX_BYTES
from grader.writers.gradescope import FIGURES_LEFT_OUT, to_gradescope_dict
from tests import results_schema, submission_fixtures
from tests.test_class_report import _chromium, _console_messages, needs_chromium

HOSTILE_PRINT = "<script>alert(1)</script><style>body{display:none}</style><img src=x onerror=y>"
MSTEP = MstepValues(
    "crafted M-step",
    {"priors": np.array([0.25, 0.75]), "mus": np.array([-1.0, 2.0]), "variances": None},
    Params.of([0.5, 0.5], [-1.0, 2.0], [1.0, 0.5]),
    "priors",
)


def _result(figure_data=MSTEP, printed=HOSTILE_PRINT, draw=None):
    """A grading whose mstep_priors check fails with `figure_data`, having printed `printed`."""
    from grader import figures

    def run_check(check_id):
        if check_id == "mstep_priors":
            return checks.Outcome(
                False,
                "M-step, k = 2, priors:\n\n```\nexpected  [0.5, 0.5]\ngot       [0.25, 0.75]\n```"
                "\n\n**Likely cause:** `gammas` a\\*b",
                ["priors_not_normalised"],
                output=printed,
                figure_data=figure_data,
            )
        return checks.Outcome(True, f"fine: `{check_id}`")

    return grade.grading_result(
        config.load(), run_check, note="", started=time.monotonic(), extra={},
        draw=draw or figures.draw_all,
    )  # fmt: skip


def _encoded(data):
    return report.encode(data)


def _priors_test(data):
    (test,) = [t for t in data["tests"] if t["extra_data"]["check"] == "mstep_priors"]
    return test


def test_a_check_with_a_figure_is_html_rendered_from_its_markdown_and_sanitised():
    data = to_gradescope_dict(_result())
    test = _priors_test(data)
    assert test["output_format"] == "html"
    assert results_schema.problems(_encoded(data)) == []
    html = test["output"]
    # What the Markdown said, as HTML: the code block, bold, inline code, escapes undone.
    assert "<pre><code>expected  [0.5, 0.5]\ngot       [0.25, 0.75]\n</code></pre>" in html
    assert "<strong>Likely cause:</strong> <code>gammas</code> a*b" in html
    # What the student's code printed is text inside a code block, never markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;style&gt;" in html
    assert "<script" not in html and "<style" not in html and "onerror=y>" not in html
    (src,) = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    image = Image.open(io.BytesIO(base64.b64decode(src)))
    assert image.size == (720, 300) and f'width="{image.size[0]}"' in html
    assert 'alt="Three bar charts' in html
    others = [t for t in data["tests"] if t is not test]
    assert all(t["output_format"] == "md" and "<" not in t["output"] for t in others)


def test_without_figures_every_output_stays_markdown():
    data = to_gradescope_dict(_result(draw=lambda items: [None for _ in items]))
    assert {t["output_format"] for t in data["tests"]} == {"md"}
    assert "Your code printed" in _priors_test(data)["output"]


@pytest.mark.parametrize(
    "spoil, expected",
    [
        (lambda h: h + "<script>x()</script>", "<script> is not allowed"),
        (lambda h: h + "<style>p{}</style>", "<style> is not allowed"),
        (lambda h: h.replace("<p>", '<p onclick="x()">', 1), "attributes ['onclick']"),
        (lambda h: h.replace("data:image/png;base64,", "https://example.org/x.png#", 1), "src"),
        (lambda h: re.sub(r'alt="[^"]*"', 'alt=""', h), "alt text"),
        (lambda h: h.replace("base64,", "base64,%%", 1), "not base64"),
        (lambda h: h.replace("base64,", "base64,AAAA", 1), "not a PNG"),
    ],
)
def test_the_validator_rejects_unsafe_or_broken_html(spoil, expected):
    data = to_gradescope_dict(_result())
    test = _priors_test(data)
    test["output"] = spoil(test["output"])
    found = results_schema.problems(_encoded(data))
    assert any(expected in problem for problem in found), found


def test_the_validator_rejects_a_picture_too_small_or_too_large():
    data = to_gradescope_dict(_result())
    test = _priors_test(data)
    small = io.BytesIO()
    Image.new("RGB", (300, 200)).save(small, format="PNG")
    big = io.BytesIO()
    Image.frombytes("RGB", (900, 600), np.random.default_rng(0).bytes(900 * 600 * 3)).save(
        big, format="PNG"
    )
    for png, expected in ((small.getvalue(), "300x200 px"), (big.getvalue(), "bytes (at most")):
        spoiled = dict(test, output=re.sub(
            r"base64,[^\"]+", "base64," + base64.b64encode(png).decode(), test["output"]
        ))  # fmt: skip
        found = results_schema.problems(_encoded(dict(data, tests=[spoiled])))
        assert any(expected in problem for problem in found), found


def test_pictures_that_would_pass_the_size_cap_are_all_left_out_and_said():
    result = _result()
    (figure,) = [f for c in result.checks for f in c.figures]
    heavy = dataclasses.replace(figure, png=figure.png + b"\0" * 140_000)  # 190 kB as base64
    checks_ = tuple(dataclasses.replace(c, figures=(heavy,)) for c in result.checks)
    data = to_gradescope_dict(dataclasses.replace(result, checks=checks_))
    assert len(report.encode(data)) <= RESULTS_MAX_BYTES and report.problems(data) == []
    assert FIGURES_LEFT_OUT in data["output"]
    assert {t["output_format"] for t in data["tests"]} == {"md"}


@needs_chromium
def test_html_feedback_renders_in_chromium(tmp_path):
    """The output, put in a page as Gradescope puts it in its own: it renders without a
    console error, the text reads as the Markdown said, the printed markup stays text, and
    the picture is displayed (its red bars are in the screenshot)."""
    test = _priors_test(to_gradescope_dict(_result()))
    page = tmp_path / "feedback.html"
    page.write_text(f"<!DOCTYPE html><html><body>{test['output']}</body></html>")
    shot = tmp_path / "shot.png"
    proc = _chromium("--enable-logging=stderr", "--v=0", f"--screenshot={shot}",
                     "--window-size=900,1000", page.as_uri(), tmp_path=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _console_messages(proc.stderr) == []
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape == (1000, 900, 3)
    red = np.abs(pixels - np.array([214, 39, 40])).sum(axis=2) < 40
    assert red.sum() > 1000  # the figure's bars, as drawn (nothing else on the page is red)

    dom = _chromium("--dump-dom", page.as_uri(), tmp_path=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = dom.stdout
    assert "Likely cause:" in body and "expected  [0.5, 0.5]" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script" not in body and "<style" not in body
    assert body.count('<img src="data:image/png;base64,') == 1


# --- end to end: the command line -----------------------------------------------------------


def _cli(submission, results, *flags):
    proc = subprocess.run(
        [sys.executable, "-m", "grader", str(submission), "--results", str(results), *flags],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    raw = Path(results).read_bytes()
    assert results_schema.problems(raw) == []
    return json.loads(raw)


def _pictures(data):
    return {
        t["extra_data"]["check"]: t["output"].count("data:image/png;base64,")
        for t in data["tests"]
        if t["output_format"] == "html"
    }


@pytest.mark.slow
def test_a_buggy_upload_gets_its_figures_and_the_reference_its_fit(tmp_path):
    buggy = submission_fixtures.discover()["buggy/priors_ignored"].upload(tmp_path)
    data = _cli(buggy, tmp_path / "buggy.json")
    assert _pictures(data) == {"estep_values": 1, "em_monotone": 1}
    assert len((tmp_path / "buggy.json").read_bytes()) <= RESULTS_MAX_BYTES

    data = _cli(SOLUTION_PATH, tmp_path / "reference.json")
    assert data["score"] == 100 and _pictures(data) == {"em_monotone": 1}
    fit = next(t for t in data["tests"] if t["extra_data"]["check"] == "em_monotone")
    assert 'alt="A histogram of the 40 points' in fit["output"]

    assert _pictures(_cli(buggy, tmp_path / "plain.json", "--no-figures")) == {}
    ini = tmp_path / "config.ini"
    ini.write_text(
        (PROJECT_ROOT / "grader" / "config.ini")
        .read_text()
        .replace("figures = yes", "figures = no")
    )
    assert _pictures(_cli(buggy, tmp_path / "off.json", "--config", ini)) == {}
