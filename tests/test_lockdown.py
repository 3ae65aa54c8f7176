"""As root, grading locks the checkout so the sandbox user cannot read the solution."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader import lockdown, paths
from grader.sandbox import isolation
from tests import submission_fixtures
from tests.sandbox_helpers import NEEDS_CAPABILITY, reachable_python

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv: the privilege drop is only exercised as root (CI runs as root)",
)


def _student_can_read(path):
    code = f"open({str(path)!r}).read()"
    proc = subprocess.run(
        # a uid of no account, like the sandbox's (no passwd entry needed)
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            code,
        ],
        capture_output=True,
    )
    return proc.returncode == 0


@pytest.fixture
def shared_tmp():
    """A directory the sandbox user can reach (pytest's own tmp_path is 0700 under root)."""
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


def _modes(root):
    return {path: stat.S_IMODE(path.lstat().st_mode) for path in [root, *root.rglob("*")]}


def test_lockdown_hides_everything_but_the_venv(project, monkeypatch, capsys):
    assert _student_can_read(project / "solution" / "gmm1d.py")  # the hole, before
    monkeypatch.setattr(sys, "prefix", str(project / ".venv"))
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "landlock")  # where file modes are all
    changed = lockdown.protect_checkout(project)
    assert {"solution", "tests", ".git", "gmm1d.py", "."} <= set(changed)
    for sub in ("solution", "tests", ".git"):
        assert not _student_can_read(project / sub / "gmm1d.py")
    assert not _student_can_read(project / "gmm1d.py")
    assert _student_can_read(project / ".venv" / "gmm1d.py")  # the interpreter stays reachable
    assert _student_can_read(project / ".venv-other" / "gmm1d.py")  # and so do other virtualenvs
    assert lockdown.protect_checkout(project) == []  # idempotent


def test_without_landlock_it_says_what_it_changed_and_the_undo_restores_it(
    project, monkeypatch, capsys
):
    (project / "secret").write_text("private")
    (project / "secret").chmod(0o600)  # already private: neither changed nor opened by the undo
    before = _modes(project)
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "landlock")
    changed = lockdown.protect_checkout(project)
    assert "secret" not in changed and _modes(project) != before
    message = capsys.readouterr().err
    for name in changed:
        assert name in message
    undo = message.split("To undo after grading: ")[1].strip()
    subprocess.run(["bash", "-c", undo], check=True)
    assert _modes(project) == before
    assert lockdown.protect_checkout(project) and capsys.readouterr().err  # said every time


@pytest.mark.skipif(
    not isolation.kernel_support().landlock_abi, reason="needs Landlock (Linux 5.13+)"
)
def test_where_landlock_holds_a_root_grading_changes_no_permission(project, capsys):
    before = _modes(project)
    assert lockdown.protect_checkout(project) == []
    assert _modes(project) == before and capsys.readouterr().err == ""
    assert _student_can_read(project / "solution" / "gmm1d.py")  # Landlock, not modes, keeps
    # the worker out: test_sandbox_landlock.py shows it cannot read such a file


def test_a_real_root_grading_with_landlock_leaves_the_checkout_as_it_was(shared_tmp):
    """Through the command line, from a world-readable copy of the grader."""
    if not isolation.kernel_support().landlock_abi:
        pytest.skip("needs Landlock (Linux 5.13+): without it the lockdown is the defence")
    copy = shared_tmp / "project"
    for sub in ("grader", "solution"):
        shutil.copytree(paths.PROJECT_ROOT / sub, copy / sub)
    for path in [copy, *copy.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    before = _modes(copy)
    proc = subprocess.run(
        [sys.executable, "-m", "grader", str(copy / "solution" / "gmm1d.py"), "--quiet",
         "--results", str(shared_tmp / "results.json")],
        cwd=copy, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert _modes(copy) == before and "undo" not in proc.stderr


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
    target.write_bytes(submission_fixtures.discover()["hostile/disk_search"].source())
    for path in [copy, *copy.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    script = (
        "import sys; from pathlib import Path; from grader import grade, lockdown\n"
        "if sys.argv[2] == 'off': lockdown.protect_checkout = lambda *a, **k: []\n"
        # The grader's own interpreter comes from this checkout, which a grading run from
        # here would lock just the same (its path is in the grader's command line).
        f"if sys.argv[2] == 'on': lockdown.protect_checkout(Path({str(paths.PROJECT_ROOT)!r}))\n"
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
