"""The docs: README links every document, every relative link resolves, the fixture format
they show is the one the tests read, and every command they show is one a test runs.

"Shown" means a line of a ```sh block in README.md or docs/*.md. Each must be in RUNS, which
says who runs it: this module (the tests below run it as written, with the docs' placeholder
paths replaced, in a scratch copy of the project when it writes into the checkout), a named
test elsewhere that runs it (or, for a make target, the command its recipe expands to,
which this module checks with ``make -n``), or .ci/run, which runs it as written.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import checks, secret
from tests import submission_fixtures

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PY = ".venv/bin/python"
EXPORT = "~/Downloads/assignment_123_export.zip"  # the docs' placeholder for an export
EMULATION = "tests/test_gradescope_e2e.py::test_reference_solution_gets_full_marks"

# command -> who runs it: "here" (a test of this module), "ci" (.ci/run), or a test's node id
RUNS = {
    "make grade": "here",
    "make test": "ci",
    "make test-slow": "ci",
    "make lint": "ci",
    "make test-unprivileged": "ci",
    "make test-images": "ci",
    "python gmm1d.py": "tests/test_stub.py::test_untouched_stub_says_plainly_what_is_missing",
    "python gmm1d.py --plot": (
        "tests/test_stub_plot.py::test_plot_saves_a_png_of_the_fit_in_the_current_folder"
    ),
    "make autograder": "here",
    "make handout": "here",
    "rm grader/course_secret && make autograder": "here",
    "(umask 077 && unzip -p dist/autograder.zip grader/course_secret > grader/course_secret)": (
        "here"
    ),
    f"make batch SUBMISSIONS={EXPORT}": "tests/test_batch.py::test_batch_csv_report_and_summary",
    f"make batch SUBMISSIONS={EXPORT} OUT=out/batch": (
        "tests/test_batch.py::test_batch_csv_report_and_summary"
    ),
    f"{PY} -m grader batch {EXPORT} --out out/batch --jobs 2": (
        "tests/test_batch.py::test_batch_csv_report_and_summary"
    ),
    "make grade SUBMISSION=path/to/gmm1d.py RESULTS=out/results.json": "here",
    "make grade SUBMISSION=path/to/gmm1d.ipynb": "here",
    "make prairielearn": "here",
    "make prairielearn PL_INPUT=upload": "here",
    "make try-prairielearn SUBMISSION=solution/gmm1d.py RESULTS=out/prairielearn.json": "here",
    f"{PY} -m grader path/to/gmm1d.py --results out/results.json": "here",
    f"{PY} -m grader checks": "here",
    f"{PY} -m grader.sandbox": "here",
    "make bench": "here",  # its recipe and the discovery of every benchmark; `cases` is run
    "make bench BASELINE=../an-older-checkout": "here",
    f"{PY} -m bench cases": "here",
    f"{PY} -m tests.submission_fixtures --to-patch tests/submissions/buggy/NAME.py": (
        "tests/test_submission_fixtures.py::"
        "test_the_command_converts_a_stub_shaped_file_and_keeps_the_rest_whole"
    ),
    f"{PY} -m tests.submission_fixtures --upload buggy/variance_old_mean /tmp/fixture": (
        "tests/test_submission_fixtures.py::test_the_command_writes_a_fixtures_upload"
    ),
    # The instructor's guide's emulation of Gradescope, line by line: the e2e test's fixture
    # makes each step (unpack, setup.sh, copy run_autograder, submission/, run it, read it).
    'export AUTOGRADER_ROOT=$(mktemp -d /tmp/autograder-XXXX) && chmod 755 "$AUTOGRADER_ROOT"': (
        EMULATION
    ),
    'unzip -q dist/autograder.zip -d "$AUTOGRADER_ROOT/source"': EMULATION,
    '(cd "$AUTOGRADER_ROOT/source" && ./setup.sh)': EMULATION,
    'cp "$AUTOGRADER_ROOT/source/run_autograder" "$AUTOGRADER_ROOT/"': EMULATION,
    'mkdir -p "$AUTOGRADER_ROOT/submission" "$AUTOGRADER_ROOT/results"': EMULATION,
    'cp solution/gmm1d.py "$AUTOGRADER_ROOT/submission/"': EMULATION,
    '(cd "$AUTOGRADER_ROOT" && ./run_autograder)': EMULATION,
    'python3 -m json.tool "$AUTOGRADER_ROOT/results/results.json"': EMULATION,
}


def shown_commands():
    """Every command line of every ```sh block, as (document, line)."""
    found = []
    for doc in DOCS:
        blocks = re.findall(r"^ *```sh\n(.*?)^ *```", doc.read_text(), re.S | re.M)
        for block in blocks:
            found += [(doc.name, line.strip()) for line in block.splitlines() if line.strip()]
    return found


# The docs name the default virtualenv, .venv; the suite may run on another (CI's second pass:
# make test VENV=.venv-3.10), which the commands below then use: for make through VENV (the
# Makefile's VENV ?= .venv), for the commands that name .venv/bin/python by that path.
VENV = os.path.relpath(sys.prefix, ROOT)
VENV = VENV if not VENV.startswith("..") else sys.prefix  # a virtualenv elsewhere: by its path
# As from a shell, not as part of the make that may be running this suite (make test): its
# MAKEFLAGS would make every make below print "Entering directory".
ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
ENV["VENV"] = VENV


def run(command, cwd=ROOT, timeout=300):
    command = command.replace(f"{PY} ", f"{VENV}/bin/python ")
    done = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, executable="/bin/bash", env=ENV)  # fmt: skip
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_readme_links_every_document_and_every_link_resolves():
    readme = (ROOT / "README.md").read_text()
    for doc in [ROOT / "HANDOUT.md", *DOCS[1:]]:
        assert f"]({doc.relative_to(ROOT).as_posix()})" in readme, doc.name
    for doc in DOCS:
        for target, anchor in re.findall(r"\]\(([^)#]+)(?:#([^)]*))?\)", doc.read_text()):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"
            if anchor:
                assert anchor in _anchors(doc.parent / target), f"{doc.name}: {target}#{anchor}"


def _anchors(path):
    """The anchors GitHub gives a Markdown file's headings (lower case, punctuation dropped,
    spaces as hyphens)."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_command_shown_is_one_a_test_runs():
    shown = {line for _, line in shown_commands()}
    emulation = {c.strip() for c, who in RUNS.items() if who == EMULATION}
    unlisted = sorted(shown - {c.strip() for c in RUNS})
    assert not unlisted, f"commands in the docs that no test is said to run: {unlisted}"
    stale = sorted(c for c in RUNS if c.strip() not in shown and c.strip() not in emulation)
    assert not stale, f"RUNS lists commands the docs no longer show: {stale}"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command, who in RUNS.items():
        if who == "ci":
            assert any(line.split("#")[0].strip() == command for line in ci), command
        elif who != "here":
            path, name = who.split("::")
            assert f"def {name}(" in (ROOT / path).read_text(), who


def test_the_make_targets_shown_expand_to_the_commands_the_tests_run():
    def recipe(args):
        return " ".join(run(f"make -n {args}").split()).replace(f"{VENV}/bin/python", PY)

    assert recipe("grade") == f'{PY} -m grader "solution/gmm1d.py" --results "results/results.json"'
    assert recipe("batch SUBMISSIONS=x.zip OUT=o") == f'{PY} -m grader batch "x.zip" --out "o"'
    assert recipe('batch SUBMISSIONS=x OUT=o JOBS=3 BATCH_FLAGS="--redo --secret s"') == (
        f'{PY} -m grader batch "x" --out "o" --jobs 3 --redo --secret s'
    )
    python = ENV.get("PYTHON", "python3")  # the Makefile's PYTHON ?= python3
    assert (
        recipe("autograder") == f"{python} -m grader.package autograder --out dist/autograder.zip"
    )
    assert recipe("handout") == f"{PY} -m grader.package handout --out dist/handout.zip"
    assert recipe("bench BASELINE=../old") == f'BASELINE="../old" {PY} -m bench'
    # tests/test_batch.py's graded_fixture runs this recipe's command (with --jobs 2).
    assert re.search(r'"grader",\s*"batch",', (ROOT / "tests" / "test_batch.py").read_text())


def test_grade_one_file_as_shown(tmp_path):
    (tmp_path / "path" / "to").mkdir(parents=True)
    shutil.copy(ROOT / "solution" / "gmm1d.py", tmp_path / "path" / "to" / "gmm1d.py")
    for command in (
        "make grade SUBMISSION=path/to/gmm1d.py RESULTS=out/results.json",
        f"{PY} -m grader path/to/gmm1d.py --results out/results.json",
    ):
        shown = command.replace("path/to/", f"{tmp_path}/path/to/").replace(
            "out/", f"{tmp_path}/out/"
        )
        output = run(shown)
        results = json.loads((tmp_path / "out" / "results.json").read_text())
        assert results["score"] == 100 and "estep_values" in output
        (tmp_path / "out" / "results.json").unlink()


def test_grade_a_notebook_as_shown(tmp_path):
    from tests import notebooks

    (tmp_path / "path" / "to").mkdir(parents=True)
    notebook = notebooks.build((ROOT / "solution" / "gmm1d.py").read_text())
    (tmp_path / "path" / "to" / "gmm1d.ipynb").write_bytes(notebook)
    shown = "make grade SUBMISSION=path/to/gmm1d.ipynb".replace("path/", f"{tmp_path}/path/")
    output = run(f"{shown} RESULTS={tmp_path}/results.json")  # not the checkout's results/
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 100, output


def test_the_prairielearn_commands_as_shown(scratch):
    output = run("make prairielearn PL_INPUT=upload", cwd=scratch)
    question = scratch / "dist" / "prairielearn" / "questions" / "gmm1d"
    assert "<pl-file-upload" in (question / "question.html").read_text(), output
    run("make prairielearn", cwd=scratch)
    assert "<pl-file-editor" in (question / "question.html").read_text()
    output = run(
        "make try-prairielearn SUBMISSION=solution/gmm1d.py RESULTS=out/prairielearn.json",
        cwd=scratch,
    )
    results = json.loads((scratch / "out" / "prairielearn.json").read_text())
    assert results["gradable"] is True and results["score"] == 1.0, output


def test_make_grade_grades_the_reference(scratch):
    output = run("make grade", cwd=scratch)  # it writes results/results.json
    assert json.loads((scratch / "results" / "results.json").read_text())["score"] == 100, output


def test_the_checks_and_the_sandbox_commands():
    listed = run(f"{PY} -m grader checks")
    assert all(check_id in listed for check_id in checks.ids())
    assert run(f"{PY} -m grader.sandbox").startswith("sandbox check: ok")


@pytest.fixture
def scratch(tmp_path):
    """A copy of the project's tracked files (modification times kept, so make sees the
    virtualenv as up to date), using this checkout's virtualenv: the commands that write
    into the checkout (dist/, the course secret) run there."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    copy = tmp_path / "project"
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    if not os.path.isabs(VENV):
        (copy / VENV).symlink_to(sys.prefix)
    return copy


def test_the_course_secret_commands_as_shown(scratch):
    path = scratch / "grader" / "course_secret"
    output = run("make autograder", cwd=scratch)
    assert "created a new course secret" in output
    first = path.read_bytes()
    with zipfile.ZipFile(scratch / "dist" / "autograder.zip") as archive:
        assert archive.read("grader/course_secret") == first
    assert "created" not in run("make autograder", cwd=scratch)  # kept, not replaced
    run("rm grader/course_secret && make autograder", cwd=scratch)  # rotate
    rotated = path.read_bytes()
    assert rotated != first and secret.load(path).value.hex() == rotated.decode().strip()
    path.unlink()  # lost: restored from the zip
    run("(umask 077 && unzip -p dist/autograder.zip grader/course_secret > grader/course_secret)",
        cwd=scratch)  # fmt: skip
    assert path.read_bytes() == rotated and (path.stat().st_mode & 0o077) == 0


def test_make_handout_as_shown(scratch):
    run("make handout", cwd=scratch)
    with zipfile.ZipFile(scratch / "dist" / "handout.zip") as archive:
        assert archive.namelist() == [
            "HANDOUT.md",
            "gmm1d.ipynb",
            "gmm1d.py",
            "gmm1d_fit_example.png",
            "two_gaussian_1dgm.py",
        ]


@pytest.mark.slow
def test_the_cases_benchmark_as_shown():
    output = run(f"{PY} -m bench cases", timeout=600)
    assert "key + every generated case" in output and "share of the grading" in output


def test_the_fixture_format_shown_is_the_one_the_tests_read():
    text = (ROOT / "docs" / "contributing.md").read_text()
    text = text.split("## Submission fixtures")[1].split("\n## ")[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+?) \|$", text, re.M))
    assert rows == submission_fixtures.KEYS
    example = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    actual = submission_fixtures.discover()["buggy/variance_old_mean"].expectation
    assert {k: v for k, v in example.items() if k != "why"} == {
        k: v for k, v in actual.items() if k != "why"
    }
    assert submission_fixtures.problems_with("buggy/variance_old_mean", example) == []
    patch = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    stored = submission_fixtures.discover()["buggy/variance_old_mean"].stored
    assert stored.name == "variance_old_mean.patch.py" and patch == stored.read_text()


def test_bench_finds_every_benchmark_make_bench_runs():
    """``make bench`` (its recipe checked above) runs ``python -m bench``, which runs every
    bench/bench_*.py: asked for one that does not exist, it lists them all."""
    done = subprocess.run([sys.executable, "-m", "bench", "nosuch"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    available = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    assert done.returncode != 0 and f"available: {', '.join(available)}" in done.stderr
