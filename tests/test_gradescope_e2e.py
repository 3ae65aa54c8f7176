"""End to end, the way Gradescope does it: build the zip, unpack it into a temporary
``AUTOGRADER_ROOT`` (``source/``, ``submission/``, ``results/``, ``submission_metadata.json``),
run ``setup.sh`` once per interpreter, then ``run_autograder`` for each kind of upload.

Root only: setup.sh creates the sandbox user and chmods, and the attacks below are only
meaningful when the user separation is real (CI runs as root).
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader import package, secret
from tests.results_schema import max_score, score

ROOT = Path(__file__).resolve().parent.parent
SETUP_TIMEOUT = 600  # a cold pip install of numpy + scipy
RUN_TIMEOUT = 300  # run_autograder itself stops the grader at 540 s; our cases take seconds

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        os.geteuid() != 0,
        reason="needs root: setup.sh runs apt-get/useradd/chmod, as on Gradescope",
    ),
]

# One image per run of the suite, built with the interpreter the suite runs on when that is
# 3.10 (CI's second pass: Gradescope's default image), else with whatever python3 is here
# (the "newer image" case). .ci/run makes both passes, so both images are built there.
if sys.version_info[:2] == (3, 10):
    INTERPRETERS = [pytest.param(Path(sys.base_prefix) / "bin" / "python3", id="python3.10")]
else:
    INTERPRETERS = [pytest.param(None, id="python3")]


def unpack(zip_path: Path, dest: Path) -> None:
    """Extract like unzip does: honour the modes stored in the zip."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = archive.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)


class Gradescope:
    """One built autograder image: an AUTOGRADER_ROOT with source/ and venv/ set up."""

    def __init__(self, root: Path, env: dict):
        self.root = root
        self.env = env
        self.source = root / "source"

    def run(self, files=None, metadata=True):
        """Fresh submission/ and results/, then run_autograder; returns (results dict, log)."""
        for name in ("submission", "results"):
            shutil.rmtree(self.root / name, ignore_errors=True)
            (self.root / name).mkdir()
        for rel, content in (files or {}).items():
            path = self.root / "submission" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        if metadata:
            meta = {
                "id": 1,
                "users": [{"email": "ada@example.edu", "id": 7, "name": "Ada Lovelace"}],
                "previous_submissions": [{"score": 99, "results": {"output": "SECRET PREVIOUS"}}],
            }
            (self.root / "submission_metadata.json").write_text(json.dumps(meta))
        run = subprocess.run(
            [str(self.root / "run_autograder")],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        results_path = self.root / "results" / "results.json"
        assert results_path.is_file(), run.stdout + run.stderr
        return json.loads(results_path.read_text()), run.stdout + run.stderr


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")  # and a course secret of its own, made there
    return package.build_autograder(ROOT, dist / "autograder.zip", dist / "course_secret")


@pytest.fixture(scope="module", params=INTERPRETERS)
def gradescope(request, autograder_zip):
    # Not under pytest's tmp dir (mode 0700): like /autograder, the root must be reachable by the
    # sandbox user, who runs the venv's interpreter from it.
    root = Path(tempfile.mkdtemp(prefix="gradescope-e2e-", dir="/tmp"))
    root.chmod(0o755)
    unpack(autograder_zip, root / "source")
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env["AUTOGRADER_ROOT"] = str(root)
    if request.param is not None:
        env["PYTHON"] = str(request.param)
    try:
        for attempt in ("first", "second (idempotent)"):
            setup = subprocess.run(
                ["bash", "./setup.sh"],
                cwd=root / "source",
                env=env,
                capture_output=True,
                text=True,
                timeout=SETUP_TIMEOUT,
            )
            assert setup.returncode == 0, (
                f"{attempt} setup.sh run failed:\n{setup.stdout}\n{setup.stderr}"
            )
        assert "requirements already installed" in setup.stdout  # the second run reused the venv
        # What run_autograder checks before grading (tests/test_setup_script.py: when it is not).
        assert (root / "setup-status").read_text().splitlines()[0] == "complete"
        if request.param is not None:
            version = subprocess.run(
                [str(root / "venv/bin/python"), "-V"], capture_output=True, text=True
            ).stdout
            assert version.startswith("Python 3.10."), version
        # Gradescope copies the script to the root and runs it from there.
        shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
        yield Gradescope(root, env)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


REFERENCE = ROOT / "solution" / "gmm1d.py"
STUB = ROOT / "gmm1d.py"


# --- honest uploads -----------------------------------------------------------------------


def test_reference_solution_gets_full_marks(gradescope):
    results, log = gradescope.run({"gmm1d.py": text(REFERENCE)})
    assert max_score(results) > 0
    assert score(results) == pytest.approx(max_score(results)), log
    assert "gmm1d.py" in results["output"]
    assert "Ada Lovelace" in log  # the instructor's log says whose run it was
    # Keyed by the course secret the zip ships, which no result and no log line shows.
    shipped = secret.load(gradescope.source / "grader" / "course_secret")
    assert results["extra_data"]["inputs"] == shipped.label and not shipped.development
    assert shipped.value.hex() not in log + json.dumps(results)


def test_unfinished_stub_gets_zero(gradescope):
    results, log = gradescope.run({"gmm1d.py": text(STUB)})
    assert max_score(results) > 0, log
    assert score(results) == 0, log


def test_correct_file_under_another_name_gets_full_marks_and_is_named(gradescope):
    results, log = gradescope.run(
        {"lab3/gmm1d (2).py": text(REFERENCE), "lab3/notes.txt": "my notes"}
    )
    assert max_score(results) > 0
    assert score(results) == pytest.approx(max_score(results)), log
    assert "gmm1d (2).py" in results["output"]


def test_empty_upload_is_explained(gradescope):
    results, log = gradescope.run({})
    assert max_score(results) > 0, log
    assert score(results) == 0
    assert "gmm1d.py" in results["output"]
    assert all(test["score"] == 0 for test in results["tests"])


# --- attacks: nothing gained --------------------------------------------------------------


def forger_source(root: Path) -> str:
    """The stub, plus: at import and in estep, overwrite results.json with full marks, exit 0."""
    return (
        f"""import json as _json, os as _os

_FORGED = {{
    "score": 1000.0, "output": "FORGED",
    "tests": [{{"name": "FORGED", "score": 1000.0, "max_score": 1.0}}],
}}


def _forge():
    roots = {{_os.environ.get("AUTOGRADER_ROOT", "/autograder"), {str(root)!r}, "/autograder"}}
    for root in roots:
        try:
            with open(_os.path.join(root, "results", "results.json"), "w") as handle:
                _json.dump(_FORGED, handle)
        except OSError:
            pass


_forge()

"""
        + text(STUB)
        + """

def _forge_and_exit(self, *args, **kwargs):
    _forge()
    _os._exit(0)


GMM1D.estep = _forge_and_exit
GMM1D.mstep = _forge_and_exit
"""
    )


def test_forged_results_json_gains_nothing(gradescope):
    results, log = gradescope.run({"gmm1d.py": forger_source(gradescope.root)})
    assert "FORGED" not in json.dumps(results), log
    assert max_score(results) > 0, log
    assert score(results) == 0, log


HUNTER_PREAMBLE = '''import ast as _ast
import os as _os

_ROOTS = [{root!r}, "/autograder"]


def _is_finished(source):
    """A file whose GMM1D.estep no longer raises NotImplementedError (so not this stub)."""
    try:
        tree = _ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    for cls in tree.body:
        if isinstance(cls, _ast.ClassDef) and cls.name == "GMM1D":
            for fn in cls.body:
                if isinstance(fn, _ast.FunctionDef) and fn.name == "estep":
                    return not any(isinstance(n, _ast.Name) and n.id == "NotImplementedError"
                                   for n in _ast.walk(fn))
    return False


def _hunt():
    candidates = [_os.path.join(r, "source", "solution", "gmm1d.py") for r in _ROOTS]
    for top in _ROOTS:
        for dirpath, dirnames, filenames in _os.walk(top):  # unreadable directories are skipped
            dirnames[:] = [d for d in dirnames if d != "venv"]
            candidates += [_os.path.join(dirpath, f) for f in filenames if f.endswith(".py")]
    for path in candidates:
        try:
            with open(path) as handle:
                source = handle.read()
        except OSError:
            continue
        if _is_finished(source):
            return path, source
    return None, None


_FOUND, _SOLUTION = _hunt()
print("HUNT RESULT:", _FOUND)
'''

HUNTER_EPILOGUE = """

if _SOLUTION is not None:  # use the stolen E- and M-steps
    _stolen = {"__name__": "stolen"}
    exec(compile(_SOLUTION, _FOUND, "exec"), _stolen)
    GMM1D.estep = _stolen["GMM1D"].estep
    GMM1D.mstep = _stolen["GMM1D"].mstep
"""


def test_solution_hunter_finds_nothing_readable(gradescope):
    hunter = HUNTER_PREAMBLE.format(root=str(gradescope.root)) + text(STUB) + HUNTER_EPILOGUE
    results, log = gradescope.run({"gmm1d.py": hunter})
    assert max_score(results) > 0, log
    assert score(results) == 0, log

    # The same file, run with the grader's privileges (no separation), does find the solution:
    # so the zero above comes from the separation, not from a hunter that cannot hunt.
    scratch = Path(tempfile.mkdtemp(prefix="hunter-", dir="/tmp"))
    try:
        (scratch / "gmm1d.py").write_text(hunter)
        found = subprocess.run(
            [str(gradescope.root / "venv/bin/python"), "-c", "import gmm1d"],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert f"HUNT RESULT: {gradescope.root}/source/solution/gmm1d.py" in found.stdout, (
            found.stderr
        )
    finally:
        shutil.rmtree(scratch)


def test_sandbox_user_cannot_read_source_results_or_metadata(gradescope):
    gradescope.run({"gmm1d.py": text(STUB)})
    root = gradescope.root
    for private in (
        root / "source" / "solution" / "gmm1d.py",
        root / "source" / "grader" / "course_secret",
        root / "results" / "results.json",
        root / "submission_metadata.json",
    ):
        attempt = subprocess.run(
            ["runuser", "-u", "student", "--", "cat", str(private)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert attempt.returncode != 0 and "Permission denied" in attempt.stderr, private
    # It cannot plant code in the venv the grader imports from as root...
    site = subprocess.run(
        [
            str(root / "venv/bin/python"),
            "-c",
            "import numpy, os; print(os.path.dirname(numpy.__file__))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    for target in (
        root / "venv" / "bin" / "planted",
        Path(site) / "planted.py",
        Path(site) / "__init__.py",
    ):
        existed = target.exists()  # numpy/__init__.py does: touching it needs write permission
        attempt = subprocess.run(
            ["runuser", "-u", "student", "--", "touch", str(target)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert attempt.returncode != 0 and target.exists() == existed, target
    # ...while the sandbox runs student code on it, confined.
    ok = subprocess.run(
        [str(root / "venv/bin/python"), "-m", "grader.sandbox"],
        cwd=root / "source",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("sandbox check: ok"), ok.stderr


# --- our side fails: the fallback results -------------------------------------------------


class Sabotage:
    """Replace one file of the installed autograder for a single run, then put it back."""

    def __init__(self, path: Path, content: str, mode=0o644):
        self.path, self.content, self.mode = path, content, mode

    def __enter__(self):
        self.backup = self.path.with_name(self.path.name + ".e2e-backup")
        os.rename(self.path, self.backup)  # also keeps a symlink (venv/bin/python) as it was
        self.path.write_text(self.content)
        self.path.chmod(self.mode)

    def __exit__(self, *exc):
        self.path.unlink()
        os.rename(self.backup, self.path)


def assert_fallback(results, log, exit_status):
    assert score(results) == 0, log
    assert "on our side" in results["output"] and "not your code's fault" in results["output"]
    [test] = results["tests"]
    assert test["status"] == "failed" and "Autograder error" in test["name"]
    assert results["extra_data"]["grader_exit_status"] == exit_status
    assert "FALLBACK" in log


def test_grader_crash_leaves_fallback_results(gradescope):
    with Sabotage(
        gradescope.source / "grader" / "grade.py",
        'raise RuntimeError("sabotaged by the e2e test")\n',
    ):
        results, log = gradescope.run({"gmm1d.py": text(REFERENCE)})
    assert_fallback(results, log, exit_status=1)
    assert "sabotaged by the e2e test" in log  # the traceback is in the instructor's log


def test_grader_killed_midway_leaves_fallback_results(gradescope):
    # Killed (as the OOM killer would) after grade_submission wrote its placeholder results and
    # went on to load the reference: the placeholder must not stand as the student's grade.
    killer = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
    with Sabotage(gradescope.source / "solution" / "gmm1d.py", killer):
        results, log = gradescope.run({"gmm1d.py": text(REFERENCE)})
    assert_fallback(results, log, exit_status=137)
    placeholder = json.loads((gradescope.root / "results" / "results.invalid.json").read_text())
    assert placeholder["extra_data"]["complete"] is False


def test_unusable_results_are_replaced_and_kept_for_the_instructor(gradescope):
    nan_writer = (  # returns what grade_submission returns (a GradingResult's totals)
        "import types\n"
        "def grade_submission(submission, results_path=None, **kwargs):\n"
        "    open(results_path, 'w').write('{\"score\": NaN, \"tests\": []}')\n"
        "    return types.SimpleNamespace(score=0.0, max_score=100.0)\n"
    )
    with Sabotage(gradescope.source / "grader" / "grade.py", nan_writer):
        results, log = gradescope.run({"gmm1d.py": text(REFERENCE)})
    assert_fallback(results, log, exit_status=0)
    assert "NaN" in (gradescope.root / "results" / "results.invalid.json").read_text()


def test_broken_virtualenv_still_leaves_fallback_results(gradescope):
    venv_python = gradescope.root / "venv" / "bin" / "python"
    with Sabotage(
        venv_python,
        "#!/bin/sh\nexit 3\n",
        mode=stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH,
    ):
        results, log = gradescope.run({"gmm1d.py": text(REFERENCE)})
    assert_fallback(results, log, exit_status=3)
