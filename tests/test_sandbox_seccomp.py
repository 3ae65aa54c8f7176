"""Attacks the seccomp filter stops (grader/sandbox/seccomp.py).

Each attack runs twice in a real worker: with Landlock turned off, so seccomp alone must
stop it (EPERM, an ordinary OSError the worker survives), and with seccomp turned off too,
where it must succeed (unless the uid layer of a root grading stops it as well): proof that
the attack is real and the filter is what stops it. Skipped, saying why, where libseccomp or
the kernel's seccomp is missing. Run as root by ``make test`` and as an unprivileged user by
``make test-unprivileged``.
"""

import errno
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

from grader import paths
from grader.sandbox import isolation, seccomp
from tests.sandbox_helpers import (
    ROOT,
    assert_attack,
    require,
    run_attack,
    tcp_listener,
    victim,  # noqa: F401 (a fixture)
    worker_account,
)

ALONE = ("landlock",)  # seccomp alone
NEITHER = ("landlock", "seccomp")  # the control run: the attack must work
RUNS = pytest.mark.parametrize("without", [ALONE, NEITHER], ids=["seccomp-alone", "control"])


def _denied_with_eperm(line, without):
    if without == ALONE:
        assert line == f"ATTACK denied PermissionError errno {errno.EPERM}", line


@RUNS
def test_tcp_to_a_loopback_listener_is_refused(tmp_path, monkeypatch, without):
    require("seccomp")
    server, received, thread = tcp_listener()
    with server:
        line = run_attack(tmp_path, monkeypatch, "tcp", server.getsockname()[1], without)
        thread.join(10 if line == "ATTACK allowed" else 0)
    assert_attack(line, {"seccomp"}, without)
    _denied_with_eperm(line, without)
    assert received == ([b"stolen"] if line == "ATTACK allowed" else [])


@RUNS
def test_udp_to_a_loopback_listener_is_refused(tmp_path, monkeypatch, without):
    require("seccomp")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(0.5)
        line = run_attack(tmp_path, monkeypatch, "udp", listener.getsockname()[1], without)
        try:
            got = listener.recv(100)
        except TimeoutError:
            got = None
    assert_attack(line, {"seccomp"}, without)
    _denied_with_eperm(line, without)
    assert got == (b"stolen" if line == "ATTACK allowed" else None)


@RUNS
def test_an_abstract_unix_socket_is_unreachable(tmp_path, monkeypatch, without):
    require("seccomp")
    name = f"gmm1d-attack-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind("\0" + name)
        server.listen(1)
        line = run_attack(tmp_path, monkeypatch, "abstract", name, without)
    assert_attack(line, {"seccomp"}, without)
    _denied_with_eperm(line, without)


@pytest.mark.parametrize("kind", ["ptrace", "vm_read"])
@RUNS
def test_a_process_of_the_same_uid_cannot_be_traced_or_read(
    tmp_path,
    monkeypatch,
    victim,  # noqa: F811
    kind,
    without,
):
    require("seccomp")
    account = worker_account() if ROOT else None
    target = victim(account.uid if account else None)
    line = run_attack(tmp_path, monkeypatch, kind, target.pid, without, account)
    assert_attack(line, {"seccomp"}, without)
    _denied_with_eperm(line, without)


@pytest.mark.parametrize("kind", ["shm", "unshare", "exec"])
@RUNS
def test_ipc_namespaces_and_programs_are_refused(tmp_path, monkeypatch, kind, without):
    require("seccomp")
    line = run_attack(tmp_path, monkeypatch, kind, None, without)
    if kind == "unshare" and without == NEITHER and line != "ATTACK allowed":
        pytest.skip(f"this kernel refuses unprivileged user namespaces anyway ({line})")
    assert_attack(line, {"seccomp"}, without)
    _denied_with_eperm(line, without)


# What issue 17 names as never needed: none may be on the allow-list (default deny).
NEVER = (
    ("socket", "socketpair", "ptrace", "process_vm_readv", "process_vm_writev", "execve")
    + ("execveat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown")
    + ("fchownat", "utime", "utimes", "utimensat", "futimesat", "setxattr", "fsetxattr")
    + ("lsetxattr", "removexattr", "inotify_init", "inotify_init1", "inotify_add_watch")
    + ("fanotify_init", "fanotify_mark", "memfd_create", "memfd_secret", "link", "linkat")
    + ("symlink", "symlinkat", "mknod", "mknodat", "clone3", "io_uring_setup", "pidfd_open")
    + ("pidfd_send_signal", "pidfd_getfd", "mount", "umount2", "fsopen", "unshare", "setns")
    + ("bpf", "perf_event_open", "userfaultfd", "keyctl", "shmget", "semget", "msgget")
    + ("mq_open", "prctl", "setpriority", "sched_setaffinity", "sched_setscheduler")
)


def test_the_allow_list_gives_a_reason_for_every_call_and_none_of_the_forbidden():
    for name, (why, only) in seccomp.ALLOWED.items():
        assert why and len(why) <= 100, name
        assert only is None or all(type(conditions) is tuple for conditions in only), name
    assert not set(NEVER) & set(seccomp.ALLOWED)
    assert set(seccomp.ENOSYS) == {"clone3"}


# --- issue 17: what a deny-list left open, each stopped by the allow-list alone -------------


@pytest.mark.parametrize("target", ["another-worker", "grader"])
@RUNS
def test_the_limits_of_another_worker_or_the_grader_cannot_be_changed(
    tmp_path,
    monkeypatch,
    victim,  # noqa: F811
    target,
    without,
):
    """prlimit64 on another process of the same uid: a worker (here a sleeping stand-in)
    given 16 MiB of address space, or the grader itself (its own limits written back, so
    the control changes nothing). As root the grader is another uid, which stops it too."""
    require("seccomp")
    account = worker_account() if ROOT else None
    if target == "grader":
        arg, stopped_by = (os.getpid(), "RLIMIT_NOFILE", None), {"seccomp", "uid"}
    else:
        pid = victim(account.uid if account else None).pid
        arg, stopped_by = (pid, "RLIMIT_AS", (16 << 20, 16 << 20)), {"seccomp"}
    line = run_attack(tmp_path, monkeypatch, "prlimit", arg, without, account)
    assert_attack(line, stopped_by, without)
    _denied_with_eperm(line, without)


@pytest.fixture
def outside_file():
    """A file outside the sandbox that the worker's uid owns (as root, the grading's uid):
    only seccomp stands between it and chmod/utime, whatever Landlock says of writes."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="gmm1d-outside-", dir="/tmp"))
    folder.chmod(0o755)
    path = folder / "secret"
    path.write_text("course secret")
    path.chmod(0o600)
    account = worker_account() if ROOT else None
    if account:
        os.chown(path, account.uid, account.gid)
    yield path, account
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("kind", ["chmod", "utime"])
@RUNS
def test_an_outside_files_mode_and_times_cannot_be_changed(
    tmp_path, monkeypatch, outside_file, kind, without
):
    require("seccomp")
    path, account = outside_file
    before = path.stat()
    line = run_attack(tmp_path, monkeypatch, kind, str(path), without, account)
    assert_attack(line, {"seccomp"}, without)
    _denied_with_eperm(line, without)
    if account:  # as root, close() removed every file of the grading's uid, this one too
        return
    after = path.stat()
    changed = (after.st_mode, after.st_mtime) != (before.st_mode, before.st_mtime)
    assert changed == (line == "ATTACK allowed")


@pytest.mark.parametrize("kind", ["inotify", "memfd", "pdeathsig"])
@RUNS
def test_inotify_memfd_and_clearing_the_parent_death_signal_are_refused(
    tmp_path, monkeypatch, kind, without
):
    """inotify on /tmp names every other grading's directory as it is made; a memfd is
    memory outside RLIMIT_AS; a worker without its parent-death signal outlives a grader."""
    require("seccomp")
    line = run_attack(tmp_path, monkeypatch, kind, "/tmp", without)
    assert_attack(line, {"seccomp"}, without)
    _denied_with_eperm(line, without)


def _kernel_log():
    """dmesg, and auditd's log where auditd takes the kernel's audit lines ("" if neither)."""
    found = ""
    try:
        found = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        found += pathlib.Path("/var/log/audit/audit.log").read_text(errors="replace")
    except OSError:
        pass
    return found


def test_with_the_log_flag_a_refused_call_is_still_refused_and_named_in_the_kernel_log(
    tmp_path, monkeypatch
):
    """GMM1D_SECCOMP_LOG=1: the same EPERM for the student, and for the instructor a line in
    dmesg giving the call's number, which ``python -m grader.sandbox --syscall`` names."""
    require("seccomp")
    monkeypatch.setenv(isolation.SECCOMP_LOG_VARIABLE, "1")
    number = seccomp.number("memfd_create")
    logged_before = _kernel_log().count(f"syscall={number} ")
    line = run_attack(tmp_path, monkeypatch, "memfd", None, ("landlock",))
    assert line == f"ATTACK denied PermissionError errno {errno.EPERM}"
    named = subprocess.run(
        [sys.executable, "-m", "grader.sandbox", "--syscall", str(number)],
        capture_output=True, text=True, cwd=paths.PROJECT_ROOT, check=True,
    )  # fmt: skip
    assert named.stdout.strip() == "memfd_create"
    log = _kernel_log()
    if not log:
        pytest.skip("the kernel log is not readable here (dmesg: root or kernel.dmesg_restrict=0)")
    assert log.count(f"syscall={number} ") > logged_before  # this worker's refusal
