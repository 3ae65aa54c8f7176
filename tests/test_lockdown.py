"""As root, grading locks the checkout so the sandbox user cannot read the solution."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader import lockdown, paths
from grader.sandbox import isolation
from tests.sandbox_helpers import NEEDS_CAPABILITY, reachable_python

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("runuser") is None,
    reason="needs root and runuser: the privilege drop is only exercised as root (CI runs as root)",
)


def _student_can_read(path):
    code = f"open({str(path)!r}).read()"
    proc = subprocess.run(
        ["runuser", "-u", paths.SANDBOX_USER, "--", "/usr/bin/python3", "-c", code],
        capture_output=True,
    )
    return proc.returncode == 0


@pytest.fixture
def shared_tmp():
    """A directory the sandbox user can reach (pytest's own tmp_path is 0700 under root)."""
    subprocess.run(["id", "-u", paths.SANDBOX_USER], check=True, capture_output=True)
    path = Path(tempfile.mkdtemp(prefix="lockdown-test-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def project(shared_tmp):
    root = shared_tmp / "project"
    for sub in ("solution", "tests", ".git", ".venv", ".venv-other"):
        (root / sub).mkdir(parents=True)
        (root / sub / "gmm1d.py").write_text("SECRET = 1\n")
    (root / ".venv-other" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "gmm1d.py").write_text("stub\n")
    for path in [root, *root.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return root


def test_lockdown_hides_everything_but_the_venv(project, monkeypatch):
    assert _student_can_read(project / "solution" / "gmm1d.py")  # the hole, before
    monkeypatch.setattr(sys, "prefix", str(project / ".venv"))
    changed = lockdown.protect_checkout(project)
    assert {"solution", "tests", ".git", "gmm1d.py", "."} <= set(changed)
    for sub in ("solution", "tests", ".git"):
        assert not _student_can_read(project / sub / "gmm1d.py")
    assert not _student_can_read(project / "gmm1d.py")
    assert _student_can_read(project / ".venv" / "gmm1d.py")  # the interpreter stays reachable
    assert _student_can_read(project / ".venv-other" / "gmm1d.py")  # and so do other virtualenvs
    assert lockdown.protect_checkout(project) == []  # idempotent


def test_grading_never_touches_the_results_folders_permissions(shared_tmp):
    """Results may go to a shared folder (/tmp itself): only the file is ours to write."""
    results = shared_tmp / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            str(paths.PROJECT_ROOT / "gmm1d.py"),
            "--results",
            str(results),
            "--quiet",
        ],
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert results.exists() and (shared_tmp.stat().st_mode & 0o7777) == 0o755


def test_disk_search_fixture_steals_without_lockdown_and_not_with_it(shared_tmp):
    """The hostile/disk_search fixture has teeth: in a world-readable copy of the project it
    finds the solution and scores 100 unless the checkout is locked first, or Landlock keeps
    it inside its own tree (the lockdown is the uid layer's defence where Landlock is missing)."""
    copy = shared_tmp / "project"
    for sub in ("grader", "solution"):
        shutil.copytree(paths.PROJECT_ROOT / sub, copy / sub)
    target = copy / "tests" / "disk_search.py"
    target.parent.mkdir(parents=True)
    shutil.copy(paths.PROJECT_ROOT / "tests" / "submissions" / "hostile" / "disk_search.py", target)
    for path in [copy, *copy.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    script = (
        "import sys; from pathlib import Path; from grader import grade, lockdown\n"
        "if sys.argv[2] == 'off': lockdown.protect_checkout = lambda *a, **k: []\n"
        "sys.executable = sys.argv[3]  # the worker's interpreter\n"
        "print(grade.grade_submission(Path(sys.argv[1])).score)\n"
    )
    # Without Landlock, a root grading needs an interpreter the worker's uid can reach.
    python = sys.executable
    if NEEDS_CAPABILITY:
        python, why = reachable_python()
        if python is None:
            pytest.skip(f"as root without Landlock this interpreter cannot run confined ({why})")
    scores = {}
    for lock, landlock in (("off", "off"), ("on", "off"), ("off", "on")):
        env = dict(os.environ, GMM1D_SANDBOX_WITHOUT="landlock" if landlock == "off" else "")
        proc = subprocess.run(
            [sys.executable, "-c", script, str(target), lock, python],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        scores[lock, landlock] = float(proc.stdout.split()[-1])
    expected = {("off", "off"): 100.0, ("on", "off"): 0.0}
    if isolation.kernel_support().landlock_abi:
        expected["off", "on"] = 0.0
    else:
        del scores["off", "on"]  # no Landlock here: that run had the lockdown off and no layer
    assert scores == expected
