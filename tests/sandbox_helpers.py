"""Shared by the sandbox tests: known answers, a Sandbox that tracks its workers, and the
check that nothing of a worker is left after ``close()``.

Expected numbers are the published 6.86x answers ("An Example Update"), never the sandbox's
own output.
"""

import atexit
import contextlib
import functools
import importlib.util
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

import numpy as np
import pytest

from grader import paths
from grader.sandbox import Limits, Sandbox, confine, isolation

CASES = pathlib.Path(__file__).parent / "sandbox_cases"
FAST = Limits(call_timeout=2, startup_timeout=5, total_budget=20)
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not ROOT, reason="needs root: the privilege drop is only exercised as root (CI runs as root)"
)


# Known answers (6.86x "An Example Update"): two clusters, five points.

X5 = np.array([0.2, -0.9, -1.0, 1.2, 1.8]).reshape(-1, 1)


PARAMS2 = {
    "priors": np.array([0.5, 0.5]),
    "mus": np.array([-3.0, 2.0]),
    "variances": np.array([4.0, 4.0]),
}


GAMMA1 = np.array([0.2942149722, 0.6224593312, 0.6513548647, 0.1066905939, 0.0534033298])
AFTER_M = {
    "priors": [0.3456246184, 0.6543753816],
    "mus": [-0.5373289474, 0.6811290964],
    "variances": [0.5757859285, 1.0752479632],
}


PARAMS3 = {
    "priors": np.array([0.2, 0.3, 0.5]),
    "mus": np.array([-1.0, 0.5, 2.0]),
    "variances": np.array([0.5, 1.0, 2.0]),
}


def _reference_module():
    spec = importlib.util.spec_from_file_location(
        "reference_gmm1d_for_sandbox_tests", paths.SOLUTION_PATH
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _reference_module()


def reference_model(params):
    model = REFERENCE.GMM1D(len(params["priors"]))
    for name, value in params.items():
        setattr(model, name, np.array(value, dtype=float).reshape(-1, 1))
    return model


def data(n=40, seed=1):
    return np.random.RandomState(seed).randn(n, 1) * 2.0


def _sessions_alive(sids):
    """pids of live processes whose session or process group is one of ``sids``."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        state, pgrp, session = fields[0], int(fields[2]), int(fields[3])
        if state != b"Z" and (pgrp in sids or session in sids):
            alive.append(int(entry))
    return alive


class Tracked:
    """A Sandbox that remembers the pid and private directory of every worker it starts.

    (Bookkeeping only: it wraps the instance's spawn method, and changes nothing else.)
    """

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.pids = []
        self.dirs = []
        spawn = sandbox._spawn

        def spawn_and_note():
            started = spawn()
            self.pids.append(started.pid)
            self.dirs.append(started.private_dir)
            return started

        sandbox._spawn = spawn_and_note

    def __getattr__(self, name):
        return getattr(self.sandbox, name)


@contextlib.contextmanager
def sandbox(case, limits=FAST, **kwargs):
    """A tracked Sandbox for tests/sandbox_cases/<case>.py (or a path); checks close().

    As root with Landlock turned off, the worker needs an interpreter its uid can reach
    without the read capability that only Landlock may bound: :func:`reachable_python`."""
    path = case if isinstance(case, pathlib.Path) else CASES / f"{case}.py"
    without = os.environ.get(isolation.WITHOUT_VARIABLE, "")
    if ROOT and "landlock" in without and "python" not in kwargs and NEEDS_CAPABILITY:
        python, why = reachable_python()
        if python is None:
            pytest.skip(f"as root without Landlock this interpreter cannot run confined ({why})")
        kwargs["python"] = python
    tracked = Tracked(Sandbox(path, limits, **kwargs))
    try:
        yield tracked
    finally:
        tracked.sandbox.close()
    no_leftovers(tracked)


def no_leftovers(tracked):
    for pid in tracked.pids:
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
    assert _sessions_alive(tracked.pids) == []
    for directory in tracked.dirs:
        assert not os.path.exists(directory)


def case_from_template(tmp_path, case, old, new):
    text = (CASES / f"{case}.py").read_text()
    assert old in text
    target = tmp_path / f"{case}.py"
    target.write_text(text.replace(old, new))
    return target


def assert_student_facing(message):
    assert message and "\n" not in message and len(message) <= 300
    assert "/tmp" not in message and "/work" not in message and "/root" not in message
    assert "gmm1d-sandbox" not in message


def _reachable(path):
    return confine._reachable_by_others(os.path.realpath(path))


# Whether this interpreter's files are out of other uids' reach (pyenv under a mode-700 /root,
# a clone in a private directory): a root grading then needs Landlock.
NEEDS_CAPABILITY = not all(
    _reachable(p) for p in (sys.prefix, sys.base_prefix, os.path.dirname(np.__file__))
)


@functools.cache
def reachable_python():
    """(python, "") of a throwaway virtualenv in /tmp that any uid can run: a system
    interpreter of this Python version with a copy of this environment's numpy; or (None,
    why not). For root tests that turn Landlock off. Removed when the tests end."""
    version = "{}.{}".format(*sys.version_info[:2])
    system = next(
        (c for c in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}")
         if os.access(c, os.X_OK) and _reachable(os.path.dirname(c))),
        None,
    )  # fmt: skip
    if system is None:
        return None, f"no system Python {version} that other users can run"
    base = pathlib.Path(tempfile.mkdtemp(prefix="gmm1d-test-python-", dir="/tmp"))
    atexit.register(shutil.rmtree, base, True)
    venv = base / "venv"
    made = subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], capture_output=True)
    if made.returncode != 0:
        return None, f"{system} cannot make a virtualenv"
    (site,) = venv.glob("lib/python3*/site-packages")
    numpy_site = pathlib.Path(np.__file__).resolve().parent.parent
    for name in ("numpy", "numpy.libs"):
        if (numpy_site / name).is_dir():
            shutil.copytree(numpy_site / name, site / name, symlinks=True)
    for path in [base, *base.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | (0o055 if path.is_dir() else 0o044))
    python = str(venv / "bin" / "python")
    if subprocess.run([python, "-I", "-c", "import numpy"], capture_output=True).returncode:
        return None, f"this environment's numpy does not import under {system}"
    return python, ""


# --- attacks, layer by layer --------------------------------------------------------------

SUPPORT = isolation.kernel_support()
ABI = SUPPORT.landlock_abi
# Which layer stops what; "landlock-net" and "landlock-scope" need Landlock ABI 4 and 6.
ACTIVE = {
    "uid": ROOT,
    "landlock": ABI >= 1,
    "landlock-net": ABI >= 4,
    "landlock-scope": ABI >= 6,
    "seccomp": SUPPORT.seccomp,
}
KERNEL_LAYERS = {
    "landlock": ("landlock", "landlock-net", "landlock-scope"),
    "seccomp": ("seccomp",),
}


def require(*layers):
    """Skip, saying why, unless this machine has every one of ``layers``."""
    missing = [layer for layer in layers if not ACTIVE[layer]]
    if missing:
        why = {
            "uid": "the uid layer exists only when grading as root",
            "landlock": SUPPORT.landlock_why or "no Landlock",
            "landlock-net": f"Landlock ABI {ABI} has no TCP rules (ABI 4+)",
            "landlock-scope": f"Landlock ABI {ABI} has no signal/socket scopes (ABI 6+)",
            "seccomp": SUPPORT.seccomp_why or "no seccomp",
        }
        pytest.skip("; ".join(why[layer] for layer in missing))


def expected_denied(stopped_by, without):
    """Whether an attack stopped by any of ``stopped_by`` is denied with ``without`` off."""
    off = {part for layer in without for part in KERNEL_LAYERS[layer]}
    return any(ACTIVE[layer] and layer not in off for layer in stopped_by)


def run_attack(tmp_path, monkeypatch, kind, arg, without=(), account=None):
    """Run one attack (tests/sandbox_cases/attack.py) in a fresh Sandbox with the kernel
    layers in ``without`` turned off; returns the line it printed ("ATTACK allowed" or
    "ATTACK denied ..."). ``account`` fixes the worker's uid (root), so a victim process can
    be started under it beforehand."""
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, ",".join(without))
    if account is not None:
        monkeypatch.setattr(isolation, "sandbox_account", lambda: account)
    submission = case_from_template(
        tmp_path, "attack", 'ATTACK = ("read", "/etc/hostname")', f"ATTACK = {(kind, arg)!r}"
    )
    with sandbox(submission) as sb:
        reply = sb.estep(2, PARAMS2, X5)
        off = sb.confinement.off
    if kind == "exec" and reply.kind == "crash":  # the worker became /bin/true
        return "ATTACK allowed"
    assert reply.ok, reply.error
    lines = [line for line in reply.output.splitlines() if line.startswith("ATTACK ")]
    assert lines, reply.output
    for layer in without:  # the grading records every layer that was off
        assert any(line.lower().startswith(layer) for line in off), off
    return lines[0]


def assert_attack(line, stopped_by, without):
    if expected_denied(stopped_by, without):
        assert line.startswith("ATTACK denied"), f"{line} (stopped by {stopped_by}, off: {without})"
    else:
        assert line == "ATTACK allowed", f"{line}: with {without} off nothing should stop it"


@pytest.fixture
def victim():
    """Start processes the attacks aim at: ``victim(uid)`` -> a live ``sleep`` under ``uid``
    (None: ours), whose command line carries a marker. All are killed afterwards."""
    started = []

    def start(uid=None):
        identity = {} if uid is None else {"user": uid, "group": uid, "extra_groups": []}
        proc = subprocess.Popen(["sleep", VICTIM_MARKER], **identity)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


VICTIM_MARKER = "61.8137"


def worker_account():
    """The throwaway account a root grading would use (fixed, so a victim can share it)."""
    return isolation.sandbox_account()


def paths_owned(is_ours, places):
    """Paths at any depth under ``places`` whose owner uid satisfies ``is_ours``, symlinks
    not followed. An explicit stack, not os.walk (recursive before Python 3.12): a tree
    thousands deep (the deep_tree fixture's, or another test's at the same time) must not
    overflow it; entries that vanish or cannot be read are passed over."""
    found, stack = [], list(places)
    while stack:
        top = stack.pop()
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for entry in entries:
            try:
                if is_ours(entry.stat(follow_symlinks=False).st_uid):
                    found.append(entry.path)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
            except OSError:
                pass
    return found


def tcp_listener():
    """A loopback TCP listener for the network attacks: (server, received, thread), where
    ``received`` gets what one connection sends within 10 s."""
    server = socket.create_server(("127.0.0.1", 0))
    received = []

    def serve():
        server.settimeout(10)
        try:
            conn, _ = server.accept()
            with conn:
                received.append(conn.recv(100))
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, received, thread
