"""PrairieLearn: the writer (grader/writers/prairielearn.py), the question build
(grader/package_prairielearn.py) and the entrypoint, run as PrairieLearn would
(prairielearn/try_prairielearn.py). Results are checked by tests/prairielearn_schema.py,
written from PrairieLearn's documentation, not from the writer."""

import configparser
import io
import json
import os
import signal
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader import package_prairielearn as plpack
from grader import secret as secret_module
from grader.result import CheckResult, Figure, GradingResult
from grader.writers.prairielearn import FIGURES_LEFT_OUT, WITHHELD, to_prairielearn_dict
from prairielearn import try_prairielearn
from tests import notebooks, prairielearn_schema, results_schema, submission_fixtures

REPO = Path(__file__).resolve().parent.parent
SOLUTION = REPO / "solution" / "gmm1d.py"
STUB = REPO / "gmm1d.py"
FIXTURES = submission_fixtures.discover()
SHORT_LIMITS = {"call_timeout_seconds": "3", "startup_timeout_seconds": "8",
                "total_budget_seconds": "40"}  # fmt: skip
GRADE_TIMEOUT = 150

# --- the writer, on hand-made results --------------------------------------------------------


def _png(width=2):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure as MplFigure

    figure = MplFigure(figsize=(width, 1), dpi=50)
    figure.add_subplot().plot([0, 1], [1, 0])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _check(number, points, max_points, **kw):
    return CheckResult(
        check_id=f"c{number}", number=number, title=f"check {number}", points=points,
        max_points=max_points, passed=points == max_points, feedback=f"**why** `{number}`", **kw,
    )  # fmt: skip


def _result(checks, **kw):
    return GradingResult(
        checks=tuple(checks), score=sum(c.points for c in checks),
        max_score=sum(c.max_points for c in checks), summary="Graded `gmm1d.py`.\n\nScore: x",
        execution_time=1.0, extra={}, **kw,
    )  # fmt: skip


def _valid(data):
    raw = json.dumps(data).encode()
    assert prairielearn_schema.problems(raw) == []
    return data


def test_score_is_points_over_the_total_and_markdown_is_plain_text():
    data = _valid(to_prairielearn_dict(_result([_check(1, 10, 10), _check(2, 5, 30)])))
    assert data["gradable"] is True and data["score"] == pytest.approx(15 / 40)
    assert [(t["points"], t["max_points"]) for t in data["tests"]] == [(10, 10), (5, 30)]
    assert data["tests"][0]["output"] == "why 1"  # no Markdown markers: PL shows plain text
    assert "`" not in data["message"]


def test_figures_become_png_data_urls_with_their_alt_text():
    figure = Figure(png=_png(), alt="the fitted mixture over the data", caption="Your fit")
    data = _valid(to_prairielearn_dict(_result([_check(1, 10, 10, figures=(figure,))])))
    [image] = data["tests"][0]["images"]
    assert image["label"] == "Your fit" and image["url"].startswith("data:image/png;base64,")
    assert "Picture: the fitted mixture over the data" in data["tests"][0]["output"]


def test_pictures_that_would_pass_one_megabyte_are_left_out_saying_so():
    big = Figure(png=_png() + b"\0" * 400_000, alt="big")
    checks = [_check(i, 10, 10, figures=(big,)) for i in (1, 2, 3)]
    data = _valid(to_prairielearn_dict(_result(checks)))
    assert all("images" not in t for t in data["tests"])
    assert FIGURES_LEFT_OUT in data["message"] and data["score"] == 1.0


def test_nothing_gradable_or_our_failure_costs_no_attempt():
    for result in (
        _result([_check(1, 0, 10)], gradable=False),
        _result([_check(1, 10, 10), _check(2, 0, 10, internal_error=True)]),
    ):
        data = _valid(to_prairielearn_dict(result))
        assert data["gradable"] is False and "score" not in data
        assert data["format_errors"][0] == data["message"]
        assert data["format_errors"][1:] == list(dict.fromkeys(t["output"] for t in data["tests"]))


def test_a_check_gradescope_would_hide_keeps_its_points_but_not_its_feedback():
    data = _valid(to_prairielearn_dict(_result([_check(1, 0, 10, visibility="hidden")])))
    assert data["tests"][0]["output"] == WITHHELD and data["tests"][0]["max_points"] == 10


def test_the_validator_rejects_what_prairielearn_would_not_take():
    good = {"gradable": True, "score": 0.5, "tests": [{"name": "a", "points": 1, "max_points": 2}]}
    assert prairielearn_schema.problems(json.dumps(good).encode()) == []
    for spoil in (
        {"score": 1.5},
        {"score": None},
        {"gradable": "yes"},
        {"tests": [{"name": "a", "points": 1}]},
        {"tests": [{"name": "a", "points": 3, "max_points": 2}]},
        {"images": ["data:image/png;base64,AAAA"]},
        {"surprise": 1},
    ):
        assert prairielearn_schema.problems(json.dumps({**good, **spoil}).encode()), spoil
    assert prairielearn_schema.problems(b'{"gradable": true, "score": NaN}')
    assert prairielearn_schema.problems(b" " * (2**20 + 1))


# --- every fixture, graded once, written for both platforms ---------------------------------

RENDER = """
import json, sys
from grader import config, grade
from grader.writers.gradescope import to_gradescope_dict
from grader.writers.prairielearn import to_prairielearn_dict
cfg = config.load(sys.argv[1])
for source, out in json.loads(sys.argv[2]):
    result = grade.grade_submission(source, None, config=cfg)
    with open(out, "w") as handle:
        json.dump({"gradescope": to_gradescope_dict(result),
                   "prairielearn": to_prairielearn_dict(result)}, handle)
"""


def _render_all(jobs, config_path):
    """Grade each ``(source, out)`` of ``jobs`` in turn in one child (its own session: hostile
    code cannot reach pytest), writing both writers' dicts to ``out``."""
    pairs = json.dumps([[str(source), str(out)] for source, out in jobs])
    proc = subprocess.Popen(
        [sys.executable, "-c", RENDER, str(config_path), pairs],
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        _, err = proc.communicate(timeout=GRADE_TIMEOUT * len(jobs))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    assert proc.returncode == 0, err.decode("utf-8", "replace")[-3000:]
    return [json.loads(Path(out).read_text()) for _, out in jobs]


def _render(source, config_path, out):
    """Grade ``source`` once in a child; returns both writers' dicts."""
    return _render_all([(source, out)], config_path)[0]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    work = tmp_path_factory.mktemp("both")
    parser = configparser.ConfigParser()
    parser.read(REPO / "grader" / "config.ini")
    for key, value in SHORT_LIMITS.items():
        parser.set("limits", key, value)
    config_path = work / "config.ini"
    with open(config_path, "w") as handle:
        parser.write(handle)

    def job(name):
        folder = work / name.replace("/", "_")
        folder.mkdir()
        return FIXTURES[name].upload(folder), folder / "both.json"  # a patch, spliced

    def render(names):
        return dict(zip(names, _render_all([job(n) for n in names], config_path)))

    # Correct and buggy files share a child per core (one import of the grader each); a
    # hostile file gets a child of its own (it may kill its grader), root-only ones last.
    calm = [n for n in FIXTURES if not n.startswith("hostile/")]
    hostile = [n for n in FIXTURES if n.startswith("hostile/")]
    shared = [[n] for n in hostile if not FIXTURES[n][1].get("root_only")]
    alone = [[n] for n in hostile if FIXTURES[n][1].get("root_only")]
    rendered = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for found in pool.map(render, [calm[0::2], calm[1::2], *shared]):
            rendered.update(found)
    for names in alone:
        rendered.update(render(names))
    return rendered


@pytest.mark.slow
@pytest.mark.timeout(3600)  # the first one waits for all the gradings (minutes on a busy machine)
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_fixture_scores_the_same_on_prairielearn_as_on_gradescope(both, name):
    gradescope, prairielearn = both[name]["gradescope"], both[name]["prairielearn"]
    assert results_schema.problems(json.dumps(gradescope).encode()) == []
    _valid(prairielearn)
    assert prairielearn["gradable"] is True  # every fixture is an upload we grade
    total = results_schema.max_score(gradescope)
    assert prairielearn_schema.score(prairielearn) * total == pytest.approx(
        results_schema.score(gradescope), abs=1e-9
    )
    assert [t["points"] for t in prairielearn["tests"]] == [t["score"] for t in gradescope["tests"]]
    if name.startswith("correct/"):  # the fixture really was graded, not its patch text
        assert prairielearn_schema.score(prairielearn) == 1.0


# --- the built question ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    secret = secret_module.create(dist / "course_secret")
    return plpack.build(REPO, dist / "prairielearn", secret), secret


def test_question_info_json_names_the_pinned_image_and_our_entrypoint(built):
    out, _ = built
    info = json.loads((out / "questions" / "gmm1d" / "info.json").read_text())
    allowed = {"uuid", "title", "topic", "tags", "type", "singleVariant", "gradingMethod",
               "externalGradingOptions"}  # fmt: skip
    assert set(info) <= allowed and info["type"] == "v3" and info["gradingMethod"] == "External"
    options = info["externalGradingOptions"]
    # PrairieLearn's schema is strict: these keys only (docs/externalGrading.md).
    assert set(options) <= {"image", "entrypoint", "serverFilesCourse", "timeout",
                            "enableNetworking", "environment", "comment"}  # fmt: skip
    name, tag = options["image"].split(":")
    assert name == "prairielearn/grader-python" and len(tag) == 40  # a commit, never latest
    assert 0 < options["timeout"] <= 600 and "enableNetworking" not in options
    entry = options["entrypoint"].removeprefix("/grade/serverFilesCourse/")
    assert (out / "serverFilesCourse" / entry).is_file()
    assert options["serverFilesCourse"] == ["gmm1d/"]


def test_question_html_has_the_editor_the_hint_and_the_results(built):
    out, _ = built
    html = (out / "questions" / "gmm1d" / "question.html").read_text()
    assert '<pl-file-editor file-name="gmm1d.py"' in html
    assert '<pl-file-download file-name="two_gaussian_1dgm.py">' in html
    assert "<pl-external-grader-results>" in html and "{{" not in html
    assert "<h1>Lab 3" in html and "<table>" in html  # the handout, its grading table filled
    assert "Gradescope" not in html
    client = out / "questions" / "gmm1d" / "clientFilesQuestion"
    assert (client / "gmm1d.py").read_bytes() == STUB.read_bytes()
    assert (client / "two_gaussian_1dgm.py").is_file()


def test_the_secret_and_solution_stay_in_server_files_owner_only(built):
    out, secret = built
    server = out / "serverFilesCourse" / "gmm1d"
    assert (server / "grader" / "course_secret").read_bytes() == secret.read_bytes()
    assert (server / "solution" / "gmm1d.py").read_bytes() == SOLUTION.read_bytes()
    value = secret.read_bytes().strip()
    for path in (out / "questions").rglob("*"):
        if path.is_file():
            assert value not in path.read_bytes() and b"_posteriors_kn" not in path.read_bytes()
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        want = 0o700 if path.is_dir() or path.name == "entrypoint" else 0o600
        assert mode == want, path
    assert (server / "vendor" / "markdown_it" / "__init__.py").is_file()


# --- the entrypoint, as PrairieLearn runs it -------------------------------------------------


def _through_entrypoint(built, tmp_path, submission, **env):
    out, secret = built
    results = tmp_path / "results.json"
    status, log = try_prairielearn.run(submission, results, out, env=env)
    assert status == 0, log
    raw = results.read_bytes()
    assert prairielearn_schema.problems(raw) == [], log
    assert secret.read_bytes().strip() not in raw + log.encode()
    return json.loads(raw), log


@pytest.mark.slow
def test_entrypoint_gives_the_reference_1_and_the_stub_0(built, tmp_path):
    data, log = _through_entrypoint(built, tmp_path, SOLUTION)
    assert data["gradable"] is True and data["score"] == 1.0, log
    assert "course secret" in log  # graded with the shipped secret, never the development one
    data, _ = _through_entrypoint(built, tmp_path, STUB)
    assert data["gradable"] is True and data["score"] == 0.0


@pytest.mark.slow
def test_entrypoint_grades_a_buggy_file_as_on_gradescope(built, tmp_path):
    source = FIXTURES["buggy/divide_by_n"].upload(tmp_path)
    data, _ = _through_entrypoint(built, tmp_path, source)
    # The Gradescope writer's score for the same file (another secret: same verdict here).
    gradescope = _render(source, REPO / "grader" / "config.ini", tmp_path / "both")["gradescope"]
    assert 0 < data["score"] < 1
    assert data["score"] * 100 == pytest.approx(results_schema.score(gradescope))


@pytest.mark.slow
def test_entrypoint_grades_a_notebook(built, tmp_path):
    upload = tmp_path / "gmm1d.ipynb"
    upload.write_bytes(notebooks.build(SOLUTION.read_text()))
    data, _ = _through_entrypoint(built, tmp_path, upload)
    assert data["score"] == 1.0 and "tagged gmm1d-selfcheck" in data["message"]


@pytest.mark.parametrize("name, content", [(None, None), ("notes.txt", b"my answer")])
def test_nothing_gradable_uploaded_is_not_gradable(built, tmp_path, name, content):
    upload = None
    if name:
        upload = tmp_path / name
        upload.write_bytes(content)
    data, _ = _through_entrypoint(built, tmp_path, upload)
    assert data["gradable"] is False and "No gmm1d.py was found" in data["format_errors"][1]


def test_a_malformed_notebook_is_not_gradable_and_says_why(built, tmp_path):
    upload = tmp_path / "gmm1d.ipynb"
    upload.write_bytes(b'{"cells": [')
    data, _ = _through_entrypoint(built, tmp_path, upload)
    assert data["gradable"] is False and "could not be read" in data["format_errors"][1]


def test_a_grader_that_fails_or_hangs_leaves_a_not_gradable_fallback(built, tmp_path):
    data, log = _through_entrypoint(built, tmp_path, SOLUTION, GMM1D_PYTHON="/bin/false")
    assert data["gradable"] is False and "our side" in data["message"]
    assert "FALLBACK: the grader failed (exit status 1)" in log
    sleeper = tmp_path / "python"
    sleeper.write_text('#!/bin/sh\ncase "$1" in -I) exec python3 "$@";; esac\nsleep 30\n')
    sleeper.chmod(0o755)
    data, log = _through_entrypoint(
        built, tmp_path, SOLUTION, GMM1D_PYTHON=str(sleeper), GMM1D_WALL_LIMIT="1"
    )
    assert data["gradable"] is False and "stopped after 1 s" in log
