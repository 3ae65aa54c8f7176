"""The uid layer (root only): each Sandbox's workers run under a throwaway uid of their own.

Run with Landlock and seccomp turned off where a test must show what the uid alone stops.
"""

import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from grader import paths
from grader.sandbox import SandboxError, isolation
from tests.sandbox_helpers import (
    PARAMS2,
    X5,
    case_from_template,
    needs_root,
    require,
    sandbox,
)

UID_ONLY = "landlock,seccomp"  # GMM1D_SANDBOX_WITHOUT: what the uid stops on its own


@needs_root
def test_the_uid_alone_keeps_the_worker_out_of_the_graders_files_and_process(tmp_path, monkeypatch):
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, UID_ONLY)
    # A stand-in for the grader's tree: world-traversable, with private parts as setup.sh
    # and run_autograder make them.
    grader = pathlib.Path(tempfile.mkdtemp(prefix="sandbox-root-test-"))
    try:
        grader.chmod(0o755)
        public = grader / "public.txt"
        public.write_text("anyone may read this")
        public.chmod(0o644)
        secret = grader / "secret.txt"
        secret.write_text("root only")
        secret.chmod(0o600)
        solution = grader / "solution"
        solution.mkdir()
        shutil.copy(paths.SOLUTION_PATH, solution / "gmm1d.py")
        (solution / "gmm1d.py").chmod(0o644)
        solution.chmod(0o750)  # chmod o= : others may not even look inside
        results = grader / "results"
        results.mkdir()
        results.chmod(0o755)
        targets = {
            "read": [str(public), str(secret), str(solution / "gmm1d.py")],
            "list": [str(solution)],
            "write": [".", str(results)],
        }
        submission = case_from_template(tmp_path, "probe", "TARGETS = {}", f"TARGETS = {targets!r}")
        with sandbox(submission) as sb:
            reply = sb.estep(2, PARAMS2, X5)
            assert reply.ok, reply.error
            directory = os.readlink(f"/proc/{sb.worker_pid}/cwd")
            info = os.stat(directory)
            uid = sb.confinement.uid  # this sandbox's own throwaway uid
            # Without Landlock, the private directory is root's: the worker's group reads it
            assert uid >= paths.SANDBOX_UID_BASE and (info.st_uid, info.st_gid) == (0, uid)
            assert stat.S_IMODE(info.st_mode) == 0o750
            assert sb.confinement.separate_uid and not sb.confinement.landlock
        lines = reply.output.splitlines()
        assert lines == [
            f"uid {uid} gid {uid} groups []",
            f"read allowed: {public}",  # the probe works: only permissions stop the rest
            f"read denied: {secret} (PermissionError)",
            f"read denied: {solution / 'gmm1d.py'} (PermissionError)",
            f"list denied: {solution} (PermissionError)",
            "write denied: . (PermissionError)",  # not even its own folder: nothing to sweep
            f"write denied: {results} (PermissionError)",
            "signal parent denied (PermissionError)",
        ]
        assert not (results / "forged.json").exists()
    finally:
        shutil.rmtree(grader)


def _hidden_interpreter():
    """A virtualenv in a mode-0700 directory of root's (numpy through a .pth file), like
    pyenv under /root or a clone in ``mktemp -d``: no other uid can reach it."""
    hidden = pathlib.Path(tempfile.mkdtemp(prefix="sandbox-hidden-python-"))
    venv = hidden / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python3*/site-packages")
    numpy_site = pathlib.Path(np.__file__).resolve().parent.parent
    (site / "project.pth").write_text(f"{numpy_site}\n")
    return hidden, venv / "bin" / "python"


@needs_root
def test_an_interpreter_only_root_can_reach_runs_with_no_capability_where_landlock_holds(
    monkeypatch,
):
    require("landlock")
    hidden, python = _hidden_interpreter()
    try:
        with sandbox(paths.SOLUTION_PATH, python=str(python)) as sb:
            reply = sb.estep(2, PARAMS2, X5)
            assert reply.ok, reply.error
            # reached by descriptor, then dropped (test_sandbox_capability.py: the attack)
            assert not sb.confinement.capability and "CAP_" not in sb.confinement.summary()
        # Without Landlock the capability the start needs would open every file: refused.
        monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "landlock")
        with pytest.raises(SandboxError) as info:
            with sandbox(paths.SOLUTION_PATH, python=str(python)) as sb:
                sb.construct(2)
        message = str(info.value)
        assert "cannot reach the interpreter's files" in message and "o+x" in message
        assert str(hidden) in message
    finally:
        shutil.rmtree(hidden)


@needs_root
def test_as_root_concurrent_sandboxes_cannot_signal_each_other(tmp_path, monkeypatch):
    """Batch grading runs several sandboxes at once: each has its own uid, so a hostile
    submission cannot kill another student's worker (even without Landlock's scopes)."""
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, UID_ONLY)
    with sandbox(paths.SOLUTION_PATH) as victim:
        assert victim.construct(2).ok
        pid = victim.worker_pid
        killer = tmp_path / "killer.py"
        killer.write_text(
            "import os, signal\n"
            "class GMM1D:\n"
            "    def __init__(self, k):\n"
            "        self.num_gaussians = k\n"
            "        self.priors = self.mus = self.variances = [1.0] * k\n"
            "    def estep(self, X):\n"
            "        try:\n"
            f"            os.kill({pid}, signal.SIGKILL)\n"
            "            print('killed')\n"
            "        except PermissionError:\n"
            "            print('denied')\n"
            "        return X\n"
        )
        with sandbox(killer) as attacker:
            reply = attacker.estep(2, PARAMS2, X5)
            assert reply.output.strip() == "denied"
        assert victim.worker_pid == pid and victim.estep(2, PARAMS2, X5).ok


@needs_root
@pytest.mark.parametrize("clears_pdeathsig", [False, True], ids=["plain", "clears-pdeathsig"])
def test_as_root_workers_of_a_killed_grader_do_not_survive(tmp_path, clears_pdeathsig):
    """A grader killed from outside (the batch's timeout) leaves its worker in a session of
    its own. The worker dies with it (parent-death signal); one that cleared that signal
    survives (seccomp off: its allow-list refuses prctl), and kill_workers_of() finds it by
    the grader's uid range."""
    from grader.sandbox.cleanup import kill_workers_of

    sleeper = tmp_path / "sleeper.py"
    sleeper.write_text(
        "import ctypes, time\n"
        + (
            "ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # undo PR_SET_PDEATHSIG\n"
            if clears_pdeathsig
            else ""
        )
        + "class GMM1D:\n"
        "    def __init__(self, k):\n"
        "        self.num_gaussians = k\n"
        "        self.priors = self.mus = self.variances = [1.0] * k\n"
        "    def estep(self, X):\n"
        "        time.sleep(600)\n"
    )
    config = tmp_path / "config.ini"
    config.write_text(
        paths.CONFIG_PATH.read_text().replace(
            "call_timeout_seconds = 10", "call_timeout_seconds = 300"
        )
    )
    grader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader",
            str(sleeper),
            "--results",
            str(tmp_path / "r.json"),
            "--config",
            str(config),
        ],
        cwd=paths.PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, isolation.WITHOUT_VARIABLE: "seccomp" if clears_pdeathsig else ""},
    )
    uids = range(
        paths.SANDBOX_UID_BASE + 64 * grader.pid, paths.SANDBOX_UID_BASE + 64 * (grader.pid + 1)
    )

    def workers():
        found = []
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{entry}/status") as handle:
                    fields = dict(line.split(":", 1) for line in handle if ":" in line)
                alive = not fields["State"].strip().startswith("Z")  # a zombie is already dead
                if alive and int(fields["Uid"].split()[0]) in uids:
                    found.append(int(entry))
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 30
    while not workers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers(), "the worker never started"
    time.sleep(1.0)  # let estep start sleeping
    (private,) = {os.readlink(f"/proc/{pid}/cwd") for pid in workers()}
    os.killpg(grader.pid, signal.SIGKILL)
    grader.wait()
    time.sleep(0.3)
    if not clears_pdeathsig:
        assert workers() == []
        assert os.path.exists(private)  # the killed grader could not clean up ...
        assert kill_workers_of(grader.pid) == 0
        assert not os.path.exists(private)  # ... the sweep does
        return
    assert workers(), "the worker should have outlived its grader (it cleared PDEATHSIG)"
    assert kill_workers_of(grader.pid) >= 1
    time.sleep(0.3)
    assert workers() == []
    assert not os.path.exists(private)  # and its private directory is gone
