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
import socket

import pytest

from grader.sandbox import seccomp
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
