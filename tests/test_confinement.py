"""The confinement issue's attacks end to end, through the real command lines: one snooping
submission graded alone, and a class regrade in which one submission tries to rewrite
another's results. Run as root by ``make test`` and as a normal account by
``make test-unprivileged``; each kernel layer is proved on its own in test_sandbox_*.py."""

import csv
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import threading

import pytest

from grader import paths
from grader.sandbox import isolation
from tests.sandbox_helpers import CASES, ROOT, require

pytestmark = pytest.mark.slow
SUPPORT = isolation.kernel_support()
SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- e2e"


def _listeners():
    tcp = socket.create_server(("127.0.0.1", 0))
    tcp.settimeout(0.2)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.2)
    received = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            for listener, accept in ((tcp, True), (udp, False)):
                try:
                    if accept:
                        conn, _ = listener.accept()
                        with conn:
                            received.append(conn.recv(1 << 16))
                    else:
                        received.append(listener.recv(1 << 16))
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return tcp, udp, received, stop, thread


def test_the_red_team_submission_reads_writes_and_sends_nothing(tmp_path, tmp_path_factory):
    if not (SUPPORT.landlock_abi >= 4 and SUPPORT.seccomp):
        pytest.skip(f"needs Landlock ABI 4+ and seccomp: {SUPPORT.warnings()}")
    home = pathlib.Path(os.path.expanduser("~"))
    home_file = home / f".gmm1d-e2e-key-{os.getpid()}"
    home_file.write_text(SECRET)
    home_file.chmod(0o600)
    shared = tmp_path_factory.mktemp("other-course") / "gmm1d.py"
    shared.write_bytes(paths.SOLUTION_PATH.read_bytes())
    for place in (shared, shared.parent, shared.parent.parent):
        place.chmod(0o755 if place.is_dir() else 0o644)
    tcp, udp, received, stop, thread = _listeners()
    written = [f"{place}/snooped-" for place in ("/tmp", "/var/tmp", "/dev/shm", str(home))]
    try:
        targets = {"home_file": str(home_file), "solution": str(paths.SOLUTION_PATH),
                   "shared": str(shared), "home": str(home), "tcp": tcp.getsockname()[1],
                   "udp": udp.getsockname()[1]}  # fmt: skip
        source = (CASES / "snoop.py").read_text().replace("TARGETS = {}", f"TARGETS = {targets!r}")
        submission = tmp_path / "gmm1d.py"
        submission.write_text(source)
        results = tmp_path / "results.json"
        proc = subprocess.run(
            [sys.executable, "-m", "grader", str(submission), "--results", str(results)],
            cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        stop.set()
        thread.join(5)
        data = json.loads(results.read_text())
        feedback = "\n".join([data["output"]] + [t["output"] for t in data["tests"]])
        assert "no read" in feedback and "no /proc: PermissionError" in feedback
        for leak in (SECRET, "READ ", "BORROWED", "WROTE", "SENT", "def estep"):
            assert leak not in feedback, leak
        assert data["score"] == 0  # it implements nothing; nothing could be borrowed
        assert received == []
        for prefix in written:
            folder, stem = os.path.split(prefix)
            assert not [n for n in os.listdir(folder) if n.startswith(stem)], folder
    finally:
        stop.set()
        home_file.unlink()
        tcp.close()
        udp.close()


def _batch(tmp_path, folder, out, env_extra=(), extra_args=()):
    env = dict(os.environ, **dict(env_extra))
    return subprocess.run(
        [sys.executable, "-m", "grader", "batch", str(folder), "--out", str(out),
         *(extra_args if "--jobs" in extra_args else ("--jobs", "1", *extra_args))],
        cwd=paths.PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_in_a_batch_no_submission_can_change_anothers_grade(tmp_path):
    """The untouched stub must stay 0 whoever is graded after it. On a normal account the
    control run (Landlock and seccomp off) proves the attack works where nothing else stops
    it: there it does rewrite the stub's results. (As root the uid and the batch's private
    folders stop it too: tests/test_sandbox_uid.py, tests/test_batch.py.)"""
    if not SUPPORT.landlock_abi:
        pytest.skip(SUPPORT.landlock_why)
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a_victim.py").write_bytes((paths.PROJECT_ROOT / "gmm1d.py").read_bytes())
    (folder / "b_rewrite.py").write_bytes((CASES / "rewrite_results.py").read_bytes())
    totals = {}
    runs = [("confined", {}, ())]
    if not ROOT:
        off = {isolation.WITHOUT_VARIABLE: "landlock,seccomp"}
        runs.append(("control", off, ("--allow-unconfined",)))
    for run, env, args in runs:
        out = tmp_path / run
        proc = _batch(tmp_path, folder, out, env, args)
        with open(out / "grades.csv", newline="") as handle:
            totals[run] = {row["submission_id"]: row["total"] for row in csv.DictReader(handle)}
        assert proc.returncode in (0, 1), proc.stderr
        log = (out / "logs" / "b_rewrite.txt").read_text()
        if run == "confined":
            assert "no /proc: PermissionError" in (out / "results" / "b_rewrite.json").read_text()
            assert "FORGED" not in log
    assert totals["confined"]["a_victim"] == "0"
    if not ROOT:
        assert totals["control"]["a_victim"] == "100"


# Issue 17's batch attacks: the upload (tests/sandbox_cases/NAME.py) and what it prints
# when seccomp refused it.
ATTACKERS = {
    # finds the other workers of its uid by pid, sets their address space to 16 MiB, CPU 1 s
    "prlimit_others": "PRLIMIT reached 0 workers",
    # learns other gradings' private directories through inotify on /tmp, chmods gmm1d.py 0
    "inotify_chmod": "INOTIFY refused: errno 1",
}
# What the attack prints in the control run when it reached the gradings beside it. Whether
# that also costs a copy points depends on when it lands: a worker that has mapped all it
# needs survives 16 MiB of address space, so the control accepts either as the attack working.
REACHED = {"prlimit_others": r"PRLIMIT reached [1-9]", "inotify_chmod": r"INOTIFY reached [1-9]"}


@pytest.mark.parametrize("attacker", sorted(ATTACKERS))
def test_in_a_batch_no_upload_can_reach_another_grading(tmp_path, attacker):
    """Issue 17: an upload that attacks, for 8 s at import, the gradings that run beside it,
    graded two at a time with copies of the reference: every copy still scores 100. On a
    normal account (all workers share your uid) the control run, with seccomp off, shows the
    attack is real there: it reaches the gradings beside it, and usually costs a copy points.
    As root every worker has its own uid, which stops it too."""
    require("seccomp")
    folder = tmp_path / "class"
    folder.mkdir()
    reference = paths.SOLUTION_PATH.read_bytes()
    victims = ["a_victim", "c_victim", "d_victim", "e_victim", "f_victim", "g_victim"]
    for name in victims:
        (folder / f"{name}.py").write_bytes(reference)
    (folder / "b_attacker.py").write_bytes((CASES / f"{attacker}.py").read_bytes())
    # Private directories in a folder of this test's own, which the inotify attacker watches.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    runs = [("confined", {"TMPDIR": str(scratch)}, ())]
    # The control's attack would also reach the workers of tests running beside this one.
    alone = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) <= 1
    if not ROOT and alone:
        off = {"TMPDIR": str(scratch), isolation.WITHOUT_VARIABLE: "seccomp"}
        runs.append(("control", off, ("--allow-unconfined",)))
    totals = {}
    for run, env, args in runs:
        out = tmp_path / run
        proc = _batch(tmp_path, folder, out, env, ("--jobs", "2", *args))
        assert (out / "grades.csv").exists(), proc.stderr
        with open(out / "grades.csv", newline="") as handle:
            totals[run] = {row["submission_id"]: row["total"] for row in csv.DictReader(handle)}
        said = (out / "results" / "b_attacker.json").read_text()  # what it printed at import
        if run == "confined":
            assert ATTACKERS[attacker] in said, said[-2000:]
    assert all(totals["confined"][name] == "100" for name in victims), totals["confined"]
    if not ROOT and not alone:
        pytest.skip("control run skipped: beside other tests, its attack would reach their workers")
    if not ROOT:
        harmed = any(totals["control"][name] != "100" for name in victims)
        said = (tmp_path / "control" / "results" / "b_attacker.json").read_text()
        assert harmed or re.search(REACHED[attacker], said), (totals["control"], said[-2000:])


def test_in_a_batch_no_upload_can_starve_the_batch_driver(tmp_path):
    """Issue 17: an upload that gives the batch driver (its grader's parent) 3 open files.
    On a normal account, seccomp alone (Landlock off, so it can find the driver in /proc)
    refuses it: every copy of the reference after it scores 100; with seccomp off too (the
    control) the batch loses them. As root the driver is another uid (and Landlock hides
    /proc), so only the confined run is made there."""
    require("seccomp")
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a_attacker.py").write_bytes((CASES / "prlimit_driver.py").read_bytes())
    victims = ["b_victim", "c_victim"]
    for name in victims:
        (folder / f"{name}.py").write_bytes(paths.SOLUTION_PATH.read_bytes())
    unconfined = ("--allow-unconfined",)
    scratch = tmp_path / "tmp"  # what a starved driver leaves behind stays in this test's folder
    scratch.mkdir()
    runs = [("confined", {"TMPDIR": str(scratch)}, ())]
    if not ROOT:
        off = {"TMPDIR": str(scratch), isolation.WITHOUT_VARIABLE: "landlock"}
        runs = [("seccomp-alone", off, unconfined)]
        off = {"TMPDIR": str(scratch), isolation.WITHOUT_VARIABLE: "landlock,seccomp"}
        runs.append(("control", off, unconfined))
    totals = {}
    for run, env, args in runs:
        out = tmp_path / run
        proc = _batch(tmp_path, folder, out, env, args)
        totals[run] = {}
        if (out / "grades.csv").exists():
            with open(out / "grades.csv", newline="") as handle:
                totals[run] = {r["submission_id"]: r["total"] for r in csv.DictReader(handle)}
        if run != "control":
            said = (out / "results" / "a_attacker.json").read_text()
            assert "DRIVER refused" in said, (said[-2000:], proc.stderr[-2000:])
            assert all(totals[run][name] == "100" for name in victims), (totals, proc.stderr)
    if not ROOT:  # the driver could not even write every result: the copies lost theirs
        assert any(totals["control"].get(name) != "100" for name in victims), totals["control"]
