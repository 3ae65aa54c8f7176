"""The seccomp allow-list, swept: every system call number, made for real in a confined worker.

A list of attacks only covers the calls someone thought of; this covers the rest. Inside a
worker with every layer in force (tests/sandbox_cases/sweep.py), each number from 0 to
:data:`TOP` (beyond the highest either architecture has, so calls newer than the table are
swept too) is made with harmless arguments (zeros), and each result must be what
grader/sandbox/seccomp.py's table says: EPERM for a call not on the allow-list (ENOSYS for
clone3), and for a call on it, a result that came from the kernel (not the filter's EPERM).
The numbers come from libseccomp for the running architecture (x86_64 or aarch64); the x32
ABI (x86_64 numbers with bit 30 set) is not swept: libseccomp's filter kills the worker on
any call outside the native ABI.

Not made in the sweep, and why: exit and exit_group end the worker (test_exit_ends_only_
the_worker makes them in a worker of their own); rt_sigreturn restores registers from a
frame that is not there (the worker would crash: allowed, as any signal handler needs it);
fork and vfork would, if RLIMIT_NPROC failed, run a second interpreter on shared memory
(tests/sandbox_cases/fork.py shows them refused by that limit); x86_64's uretprobe and
uprobe are exempt from seccomp by the kernel itself and kill the caller (:data:`UNFILTERED`).
clone is made with CLONE_NEWUSER, which the filter refuses whatever the limits say.

The calls allowed only on the worker itself are then made on another process of the same
uid (a sleeping victim the test starts): refused with seccomp alone (Landlock off, as the
attack tests do), made with seccomp off too (the control: the kernel would allow them).
As root by ``make test``, as an unprivileged user by ``make test-unprivileged``.
"""

import dataclasses
import errno
import os
import signal

import pytest

from grader.sandbox import isolation, seccomp
from tests.sandbox_helpers import (
    FAST,
    PARAMS2,
    ROOT,
    X5,
    case_from_template,
    require,
    sandbox,
    victim,  # noqa: F401 (a fixture)
    worker_account,
)

ARCH = os.uname().machine
TOP = 600
NOT_SWEPT = ("exit", "exit_group", "rt_sigreturn", "fork", "vfork")
# Numbers the kernel never lets seccomp see (Linux 6.11+ and 6.16+, x86_64): uretprobe and
# uprobe, which outside a probe's trampoline kill the caller, and only it, with SIGILL.
UNFILTERED = {"x86_64": {335: "uretprobe", 336: "uprobe"}}.get(ARCH, {})
CLONE_NEWUSER = 0x10000000
# Arguments other than zeros: select/pselect6 would wait forever without a zero timeout.
ARGUMENTS = {
    "select": [0, 0, 0, 0, "BUFFER"],
    "pselect6": [0, 0, 0, 0, "BUFFER", 0],
    "clone": [CLONE_NEWUSER | signal.SIGCHLD],
}
# x86_64's legacy calls, which aarch64 lacks, and the call that does their work there.
LEGACY_X86_64 = {
    "open": "openat", "stat": "newfstatat", "lstat": "newfstatat", "readlink": "readlinkat",
    "access": "faccessat", "mkdir": "mkdirat", "unlink": "unlinkat", "rmdir": "unlinkat",
    "rename": "renameat2", "time": "clock_gettime", "select": "pselect6", "pipe": "pipe2",
    "fork": "clone", "vfork": "clone",
}  # fmt: skip


def _holds(conditions, args):
    """Whether one alternative of the table's conditions holds for ``args`` (SELF != 0)."""
    for index, op, value, *masked in conditions:
        given = args[index] if index < len(args) else 0
        if value == seccomp.SELF or given == "BUFFER":
            return False
        if op == seccomp.EQ and given != value:
            return False
        if op == seccomp.LT and not given < value:
            return False
        if op == seccomp.MASKED_EQ and given & value != masked[0]:
            return False
    return True


def _run(tmp_path, monkeypatch, calls, without=(), account=None):
    """Make ``calls`` ([(nr, args)]) in a fresh worker; returns [(nr, result, errno)]."""
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, ",".join(without))
    if account is not None:
        monkeypatch.setattr(isolation, "sandbox_account", lambda: account)
    case = case_from_template(
        tmp_path, "sweep", 'PLAN = {"calls": []}', f"PLAN = {{'calls': {calls!r}}}"
    )
    with sandbox(case, dataclasses.replace(FAST, output_kb=64)) as sb:
        reply = sb.estep(2, PARAMS2, X5)
    assert reply.ok, (reply.kind, reply.error, reply.output[-500:])
    lines = [line.split()[1:] for line in reply.output.splitlines() if line.startswith("SWEEP ")]
    return [tuple(map(int, line)) for line in lines]


def test_every_system_call_number_is_refused_unless_it_is_on_the_allow_list(tmp_path, monkeypatch):
    require("seccomp")
    if ARCH not in seccomp.ARCHES:
        pytest.skip(f"no table of system call numbers for {ARCH}")
    names = {nr: seccomp.name(nr) for nr in range(TOP)}
    calls = [
        (nr, ARGUMENTS.get(name, []))
        for nr, name in names.items()
        if name not in NOT_SWEPT and nr not in UNFILTERED
    ]
    made = _run(tmp_path, monkeypatch, calls)
    found = {nr: (result, code) for nr, result, code in made}
    wrong = []
    for nr, args in calls:
        name = names[nr]
        result, code = found.get(nr, (None, None))
        if name in seccomp.ALLOWED:
            only = seccomp.ALLOWED[name][1]
            allowed = only is None or any(_holds(c, args) for c in only)
            if allowed and code == errno.EPERM:
                wrong.append(f"{nr} {name}: allowed, but refused (EPERM)")
            if not allowed and (result, code) != (-1, errno.EPERM):
                wrong.append(f"{nr} {name}{args}: these arguments are not allowed, got {result}")
        else:
            expected = errno.ENOSYS if name in seccomp.ENOSYS else errno.EPERM
            if (result, code) != (-1, expected):
                wrong.append(f"{nr} {name}: expected {errno.errorcode[expected]}, got "
                             f"{result} {errno.errorcode.get(code, code)}")  # fmt: skip
    assert wrong == []
    assert len(made) == len(calls)  # every number was made and answered


def test_exit_ends_only_the_worker(tmp_path, monkeypatch):
    """exit_group, made by number, is allowed: the worker ends with its status."""
    require("seccomp")
    case = case_from_template(
        tmp_path, "sweep", 'PLAN = {"calls": []}',
        f"PLAN = {{'calls': [[{seccomp.number('exit_group')}, [7]]]}}",
    )  # fmt: skip
    with sandbox(case) as sb:
        reply = sb.estep(2, PARAMS2, X5)
    assert reply.kind == "crash" and reply.values == {"exit_code": 7}, reply.error


@pytest.mark.parametrize("arch", sorted(seccomp.ARCHES))
def test_every_allowed_name_is_a_system_call_of_both_architectures(arch):
    require("seccomp")
    for name in list(seccomp.ALLOWED) + list(seccomp.ENOSYS):
        nr = seccomp.number(name, arch)
        if arch == "aarch64" and name in LEGACY_X86_64:
            assert nr < 0, f"{name} exists on aarch64 after all"
            assert LEGACY_X86_64[name] in seccomp.ALLOWED
        else:
            assert nr >= 0, f"{name} is not a system call of {arch}"
            assert seccomp.name(nr, arch) == name


# Calls the table allows only on the worker itself, made on another process: (name, args)
# with VICTIM standing for its pid. BUFFER receives what the call reads back.
ON_ANOTHER = {
    "prlimit64-read": ("prlimit64", ["VICTIM", 0, 0, "BUFFER"]),  # its RLIMIT_CPU
    "prlimit64-write": ("prlimit64", ["VICTIM", 4, "BUFFER", 0]),  # its RLIMIT_CORE := 0
    "sched_getaffinity": ("sched_getaffinity", ["VICTIM", 64, "BUFFER"]),
    "kill": ("kill", ["VICTIM", 0]),
    "tkill": ("tkill", ["VICTIM", 0]),
    "tgkill": ("tgkill", ["VICTIM", "VICTIM", 0]),
    # its CPU clock: MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
    "clock_gettime": ("clock_gettime", ["CPUCLOCK", "BUFFER"]),
}


@pytest.mark.parametrize("kind", sorted(ON_ANOTHER))
@pytest.mark.parametrize(
    "without", [("landlock",), ("landlock", "seccomp")], ids=["seccomp-alone", "control"]
)
def test_calls_allowed_on_itself_are_refused_on_another_process(
    tmp_path,
    monkeypatch,
    victim,  # noqa: F811
    kind,
    without,
):
    require("seccomp")
    account = worker_account() if ROOT else None
    target = victim(account.uid if account else None)
    name, args = ON_ANOTHER[kind]
    args = [target.pid if a == "VICTIM" else a for a in args]
    args = [(~target.pid << 3) | 2 if a == "CPUCLOCK" else a for a in args]
    nr = seccomp.number(name)
    itself = [a if a != target.pid else "SELF" for a in args]
    if name == "clock_gettime":
        itself = [2, "BUFFER"]  # CLOCK_PROCESS_CPUTIME_ID: its own
    (_, *other), (_, *own) = _run(
        tmp_path, monkeypatch, [(nr, args), (nr, itself)], without, account
    )
    assert own[0] != -1, f"{kind} on itself failed: {own}"  # what the table allows
    if "seccomp" in without:
        assert other[0] != -1, f"control: {kind} on another process failed: {other}"
    else:
        assert other == [-1, errno.EPERM], other
