"""The class figures and report.html, including (slow) rendering it in headless Chromium and
reading the numbers back from the rendered page to compare with grades.csv."""

import csv
import io
import json
import re
import statistics
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.batch import run_batch
from grader.batch.page import render_report
from grader.batch.records import CheckResult, Record, format_number, grader_problem
from grader.batch.stats import class_stats, histogram

CHROMIUM = Path("/usr/bin/chromium")
CHECKS = ["loads", "estep_shape", "estep_pmf", "estep_values", "mstep_means", "em_monotone"]
POINTS = [0, 10, 10, 15, 10, 15]


def results_json(passed, mistakes=None, seconds=1.0):
    """A results.json in the grader's format; ``passed``: one bool per check in CHECKS."""
    mistakes = mistakes or {}
    tests = [
        {
            "name": f"{i + 1}. {check}",
            "number": str(i + 1),
            "score": points if ok else 0,
            "max_score": points,
            "status": "passed" if ok else "failed",
            "output": "",
            "visibility": "visible",
            "extra_data": {"check": check, "mistakes": mistakes.get(check, [])},
        }
        for i, (check, points, ok) in enumerate(zip(CHECKS, POINTS, passed))
    ]
    return {
        "score": sum(t["score"] for t in tests),
        "execution_time": seconds,
        "output": "",
        "tests": tests,
        "extra_data": {"complete": True},
    }


# --- figures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (0.1 + 0.2, "0.3"),
        (10.0, "10"),
        (7.5, "7.5"),
        (-0.0, "0"),
        (1e-9, "0"),
        (2 / 3, "0.666667"),
        (None, ""),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_grader_problem_tells_grades_from_failures_on_our_side():
    good = results_json([True] * 6)
    assert grader_problem(good) == ""
    assert "timed out" in grader_problem(
        {"tests": [], "extra_data": {"batch_error": "timed out after 9 s"}}
    )
    assert "sandbox" in grader_problem({"tests": [], "extra_data": {"grader_error": "no user"}})
    assert "did not finish" in grader_problem({"tests": [], "extra_data": {"complete": False}})
    broken = results_json([True] * 6)
    broken["tests"][2]["extra_data"]["grader_error"] = True
    assert "3. estep_pmf" in grader_problem(broken)


def test_record_from_results():
    data = results_json(
        [True, True, False, False, True, True],
        mistakes={"estep_pmf": ["wrong_axis"], "estep_values": ["wrong_axis", "transposed"]},
    )
    record = Record.from_results("42", data, names=["A"], sids=["1"], emails=["a@x"])
    assert record.total == 35 and record.max_total == 60 and record.seconds == 1.0
    assert list(record.checks) == CHECKS
    assert record.checks["estep_pmf"] == CheckResult(0, 10, False, ("wrong_axis",))
    assert record.mistakes == ("wrong_axis", "transposed")
    # no check ids (an older grader): the test names are used
    del data["tests"][0]["extra_data"]
    assert list(Record.from_results("42", data).checks)[0] == "1. loads"
    failed = Record.from_results(
        "43", {"tests": [], "execution_time": 9, "extra_data": {"batch_error": "crashed"}}
    )
    assert failed.total is None and failed.error == "crashed" and failed.seconds == 9


def test_histogram_bins_are_closed_at_the_top():
    bins = histogram([0, 9.99, 10, 50, 100], 100, bins=10)
    assert [count for _, _, count in bins] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert bins[0][:2] == (0, 10) and bins[-1][:2] == (90, 100)


def test_class_stats_by_hand():
    records = [
        Record.from_results("a", results_json([True] * 6, seconds=2)),  # 60
        Record.from_results(
            "b",
            results_json(
                [True, True, False, False, True, True],
                mistakes={"estep_pmf": ["wrong_axis"], "estep_values": ["wrong_axis"]},
                seconds=5,
            ),
        ),  # 35
        Record.from_results(
            "c",
            results_json(
                [True, False, False, False, True, False],
                mistakes={"estep_shape": ["transposed"], "estep_pmf": ["wrong_axis"]},
                seconds=1,
            ),
        ),  # 10
        Record.from_results("d", results_json([False] * 6, seconds=3)),  # 0
        Record.from_results(
            "e", {"tests": [], "execution_time": 30, "extra_data": {"batch_error": "crashed"}}
        ),
    ]
    stats = class_stats(records)
    assert [r.id for r in stats.graded] == ["a", "b", "c", "d"] and [
        r.id for r in stats.errors
    ] == ["e"]
    assert (stats.mean, stats.median, stats.max_total) == (26.25, 22.5, 60)
    by_check = {c.check: c for c in stats.checks}
    assert [c.check for c in stats.checks] == CHECKS
    assert (by_check["estep_pmf"].passed, by_check["estep_pmf"].graded) == (1, 4)
    assert by_check["estep_shape"].pass_rate == 0.5
    assert by_check["em_monotone"].mean_score == 7.5
    # most failed: estep_pmf and estep_values (3 each, grading order breaks the tie),
    # then estep_shape
    # (2, tied with em_monotone, earlier in grading order)
    assert [c.check for c in stats.most_failed] == ["estep_pmf", "estep_values", "estep_shape"]
    assert stats.mistakes == [("wrong_axis", 2), ("transposed", 1)]  # students, not occurrences
    assert [r.id for r in stats.slowest] == ["e", "b", "d", "a", "c"]
    assert [count for _, _, count in stats.histogram] == [1, 1, 0, 0, 0, 1, 0, 0, 0, 1]


def test_class_stats_with_nobody_graded():
    stats = class_stats(
        [Record.from_results("e", {"tests": [], "extra_data": {"batch_error": "x"}})]
    )
    assert stats.mean is None and stats.median is None and stats.most_failed == []
    assert 'id="stat-count" data-value="0"' in render_report(stats)


class _References(HTMLParser):
    """Everything in a page that could load something: tags, URL attributes, CSS url()/@import."""

    LOADING_TAGS = {
        "script",
        "link",
        "img",
        "iframe",
        "object",
        "embed",
        "audio",
        "video",
        "source",
        "image",
        "use",
    }
    URL_ATTRS = {"src", "href", "xlink:href", "srcset", "action", "data", "poster", "background"}

    def __init__(self):
        super().__init__()
        self.found, self._in_style = [], False

    def handle_starttag(self, tag, attrs):
        # Allowed, and nothing else: images as PNG data URLs (loaded from the page itself), an
        # inline script (no src; the page's CSP runs only the one whose hash it names) and
        # links (navigation, not loading) to the batch's own files beside the page.
        a = dict(attrs)
        own_image = tag == "img" and (a.get("src") or "").startswith("data:image/png;base64,")
        inline_script = tag == "script" and not any(k in self.URL_ATTRS for k in a)
        if tag in self.LOADING_TAGS and not (own_image or inline_script):
            self.found.append(f"<{tag}>")
        self.found += [
            f"{tag}[{k}]"
            for k, v in attrs
            if k in self.URL_ATTRS
            and not (own_image and k == "src")
            and not (tag == "a" and k == "href" and re.fullmatch(r"(results|logs)/[^:/]+", v))
        ]
        self.found += [
            f"{tag}[style]"
            for k, v in attrs
            if k == "style" and re.search(r"url\(|@import", v or "")
        ]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style and re.search(r"url\(|@import", data):
            self.found.append("<style> url/@import")


def external_references(page):
    parser = _References()
    parser.feed(page)
    return parser.found


def test_report_escapes_everything_and_loads_nothing():
    hostile = "<img src=x onerror=alert(1)>\"'"
    record = Record.from_results(
        hostile, results_json([True] * 6), names=[hostile, "</style><script>x()</script>"]
    )
    failed = Record.from_results(
        "f<b>", {"tests": [], "extra_data": {"batch_error": "boom <i>"}}, names=[hostile]
    )
    page = render_report(class_stats([record, failed]), title="Class <u>")
    assert "<img src=x" not in page and "<b>" not in page and "<i>" not in page
    assert page.count("<script") == 1 and "<script>x()" not in page  # only the page's own
    assert page.count("<img") == 1  # the histogram (a data URL), no image of a submission's
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;" in page
    assert "boom &lt;i&gt;" in page and "Class &lt;u&gt;" in page
    assert external_references(page) == []
    assert external_references('<p style="background:url(x.png)">') != []  # the detector works
    for loads in ['<img src="x.png">', '<script src="x.js"></script>', '<a href="http://x/">']:
        assert external_references(loads) != [], loads


def test_mistakes_are_described_when_the_grader_knows_them():
    record = Record.from_results(
        "a", results_json([False] * 6, mistakes={"estep_pmf": ["wrong_axis", "zz_new"]})
    )
    page = render_report(class_stats([record]))
    from grader.diagnosis import MISTAKES

    assert MISTAKES["wrong_axis"].replace("(", "").split()[0] in page
    assert '<tr class="mistake" data-mistake="zz_new" data-students="1">' in page


# --- rendering in headless Chromium ---------------------------------------------------------

# Stands in for the grader: each "submission" is the results.json to report.
COPY_GRADER = "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])"

CLASS = {  # id -> (passed per check, mistakes, seconds)
    "s01": ([True] * 6, {}, 2.5),
    "s02": ([True, True, True, False, True, True], {"estep_values": ["std_as_variance"]}, 3.1),
    "s03": (
        [True, False, False, False, True, False],
        {"estep_shape": ["transposed"], "estep_pmf": ["wrong_axis"]},
        1.2,
    ),
    "s04": ([True, True, False, False, False, False], {"estep_pmf": ["wrong_axis"]}, 7.8),
    "s05": ([False] * 6, {}, 20.0),
    "s06": ([True, True, True, True, False, True], {"mstep_means": ["divide_by_n"]}, 4.4),
    "s07": (
        [True, True, False, True, True, True],
        {"estep_pmf": ["wrong_axis", "not_normalised"]},
        2.0,
    ),
}


def _chromium(*args, tmp_path):
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _console_messages(stderr):
    """Chromium's log lines for console messages (errors, CSP violations, uncaught exceptions)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


class _Figures(HTMLParser):
    """Collects the data-* figures the report exposes."""

    def __init__(self):
        super().__init__()
        self.stats, self.checks, self.mistakes, self.bins = {}, {}, {}, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if (a.get("id") or "").startswith("stat-"):
            self.stats[a["id"][5:]] = a.get("data-value")
        cls = a.get("class") or ""
        if tag == "tr" and cls == "check":
            self.checks[a["data-check"]] = a
        if tag == "tr" and cls == "mistake":
            self.mistakes[a["data-mistake"]] = int(a["data-students"])
        if tag == "tr" and cls == "bin":
            self.bins.append(int(a["data-count"]))


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="chromium not installed (apt-get install chromium); .ci/run installs it",
)


@pytest.fixture
def class_out(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for sub_id, (passed, mistakes, seconds) in CLASS.items():
        (folder / f"{sub_id}.py").write_text(json.dumps(results_json(passed, mistakes, seconds)))
    (folder / "s08.py").write_text("not json")  # a grading that failed on our side
    out = tmp_path / "out"
    run_batch(
        folder,
        out,
        jobs=2,
        progress_stream=io.StringIO(),
        command=lambda sub, res, note="": [sys.executable, "-c", COPY_GRADER, str(sub), str(res)],
    )
    return out


def test_console_detector_catches_a_broken_page(tmp_path):
    """The check below would be vacuous if errors never reached stderr: show that they do."""
    if not CHROMIUM.exists():
        pytest.skip("chromium not installed (apt-get install chromium); .ci/run installs it")
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><script>throw new Error('bang')</script></body></html>"
    )
    proc = _chromium(
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={tmp_path / 'b.png'}",
        page.as_uri(),
        tmp_path=tmp_path,
    )
    assert any("Uncaught Error: bang" in line for line in _console_messages(proc.stderr)), (
        proc.stderr
    )


@pytest.mark.slow
@needs_chromium
def test_report_renders_in_chromium_and_matches_grades_csv(class_out, tmp_path):
    report = class_out / "report.html"
    assert external_references(report.read_text()) == []  # self-contained: nothing to fetch

    shot = tmp_path / "report.png"
    proc = _chromium(
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={shot}",
        "--window-size=1200,1600",
        report.as_uri(),
        tmp_path=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _console_messages(proc.stderr) == []
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (1200, 1600)

    dom = _chromium("--dump-dom", report.as_uri(), tmp_path=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = _Figures()
    page.feed(dom.stdout)

    # grades.csv, read on its own
    with open(class_out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    graded = [r for r in rows if r["total"] != ""]
    totals = [float(r["total"]) for r in graded]
    assert len(rows) == 8 and len(graded) == 7
    assert int(page.stats["count"]) == len(graded)
    assert int(page.stats["errors"]) == 1
    assert float(page.stats["mean"]) == pytest.approx(statistics.mean(totals), abs=1e-6)
    assert float(page.stats["median"]) == pytest.approx(statistics.median(totals), abs=1e-6)
    assert sum(page.bins) == len(graded)
    assert list(page.checks) == CHECKS
    for check in CHECKS:
        mean_points = statistics.mean(float(r[check]) for r in graded)
        assert float(page.checks[check]["data-mean-score"]) == pytest.approx(mean_points, abs=1e-6)
    # pass rates and mistakes against the per-submission results files
    results = [
        json.loads((class_out / "results" / f"{r['submission_id']}.json").read_text())
        for r in graded
    ]
    for check in CHECKS:
        passed = sum(
            1
            for data in results
            for t in data["tests"]
            if t["extra_data"]["check"] == check and t["status"] == "passed"
        )
        assert int(page.checks[check]["data-passed"]) == passed
        assert float(page.checks[check]["data-pass-rate"]) == pytest.approx(
            passed / len(graded), abs=1e-6
        )
    assert page.mistakes == {
        "wrong_axis": 3,
        "transposed": 1,
        "std_as_variance": 1,
        "divide_by_n": 1,
        "not_normalised": 1,
    }
    assert "s05" in dom.stdout.split('id="slowest"')[1]  # the slowest one is listed
