"""Nothing outlives a grading (grader/reaper.py): the batch driver and the grader are child
subreapers, so a worker whose grader died is handed to the driver, which kills it; the
batch returns with none of them alive. The attack: the issue's orphan, which clears its
parent-death signal and outlives its grader (killed here by the batch's timeout, the
kill a worker can no longer do itself), and would then reach every later grading."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader import paths
from grader.sandbox import isolation

pytestmark = pytest.mark.slow
MARKER = "gmm1d-orphan"  # its /proc/<pid>/comm, so the test can find it
ORPHAN = f"""
import ctypes, time
libc = ctypes.CDLL(None)
libc.prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG 0: no longer dies with its grader
libc.prctl(15, b"{MARKER}", 0, 0, 0)  # PR_SET_NAME
time.sleep(600)
class GMM1D:
    pass
"""
# The driver as it was: not a subreaper, and (as root) no sweep of a killed grader's uids.
WITHOUT_REAPER = (
    "import runpy, sys\n"
    "from grader import reaper\n"
    "from grader.batch import slots\n"
    "reaper.become_subreaper = lambda: False\n"
    "slots.kill_workers_of = lambda pid: 0\n"
    "sys.argv = ['grader', *sys.argv[1:]]\n"
    "runpy.run_module('grader', run_name='__main__')\n"
)
WITHOUT_UID_SWEEP = WITHOUT_REAPER.replace("reaper.become_subreaper = lambda: False\n", "")


def _orphans():
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/comm") as handle:
                if handle.read().strip() == MARKER:
                    found.append(int(entry))
        except OSError:
            pass
    return found


def _batch(tmp_path, driver):
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "orphan.py").write_text(ORPHAN)
    (folder / "victim.py").write_bytes(paths.SOLUTION_PATH.read_bytes())
    # seccomp off: its allowlist refuses PR_SET_PDEATHSIG, which stops this attack first
    env = dict(os.environ, **{isolation.WITHOUT_VARIABLE: "seccomp"})
    proc = subprocess.run(
        [sys.executable, "-c", driver, "batch", str(folder), "--out", str(tmp_path / "out"),
         "--timeout", "8", "--jobs", "1"],
        cwd=paths.PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    results = tmp_path / "out" / "results"
    assert "timed out after 8 s" in (results / "orphan.json").read_text()
    assert json.loads((results / "victim.json").read_text())["score"] == 100, proc.stdout
    return proc


def _kill(pids):
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def _private_dirs():
    return set(Path(tempfile.gettempdir()).glob(isolation.PRIVATE_DIR_PREFIX + "*"))


@pytest.fixture
def no_orphans_before():
    assert _orphans() == []
    before = _private_dirs()
    yield
    _kill(_orphans())
    # The drivers here switch off the removal of a killed grader's private directory (part of
    # the uid sweep): remove the orphan's, so no run litters the machine's /tmp. Only those
    # holding the orphan's upload: other tests' gradings run alongside, in folders alike.
    for left in _private_dirs() - before:
        try:
            orphan = (left / paths.SUBMISSION_FILENAME).read_text() == ORPHAN
        except OSError:
            orphan = False
        if orphan:
            shutil.rmtree(left, ignore_errors=True)


def test_an_orphaned_worker_is_gone_when_the_batch_returns(tmp_path, no_orphans_before):
    # As root, the driver's sweep of the killed grader's uids would also get it: off here, so
    # this shows the subreaper alone does it.
    _batch(tmp_path, WITHOUT_UID_SWEEP)
    assert _orphans() == []


def test_control_without_the_subreaper_the_orphan_outlives_the_batch(tmp_path, no_orphans_before):
    _batch(tmp_path, WITHOUT_REAPER)
    time.sleep(0.5)
    assert _orphans(), "the attack should have outlived its grader and the batch"


def test_kill_adopted_kills_and_reaps_only_what_it_is_asked_to(tmp_path):
    """In a child process made a subreaper: a grandchild whose parent died is adopted."""
    script = (
        "import os, subprocess, sys, time\n"
        "from grader import reaper\n"
        "assert reaper.become_subreaper()\n"
        "subprocess.Popen([sys.executable, '-c', 'import os, subprocess, sys; "
        'subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]); '
        "os._exit(0)']).wait()\n"
        "time.sleep(0.5)\n"
        "adopted = reaper.children()\n"
        "assert len(adopted) == 1, adopted\n"
        "assert not reaper.confined(adopted[0])  # same uid, filters and no_new_privs\n"
        "assert reaper.kill_adopted(only_confined=True) == 0\n"
        "assert reaper.kill_adopted() == 1 and reaper.children() == []\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=paths.PROJECT_ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert proc.stdout.strip() == "ok", proc.stderr
