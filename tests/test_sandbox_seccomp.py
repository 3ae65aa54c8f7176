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


def test_every_denied_call_is_named_once_and_grouped_by_purpose():
    names = [name for group in seccomp.DENIED.values() for name in group]
    assert len(names) == len(set(names))
    for required in ("socket", "socketpair", "ptrace", "process_vm_readv", "process_vm_writev"):
        assert required in names
    for required in ("mount", "unshare", "setns", "bpf", "perf_event_open", "userfaultfd"):
        assert required in names
    for required in ("keyctl", "io_uring_setup", "shmget", "semget", "msgget", "mq_open"):
        assert required in names
