"""Nothing outlives a grading: the grader and the batch driver are child subreapers.

A worker lives in a session of its own (so one killpg gets everything it started). If its
grader dies first (killed by the batch's timeout, or by the worker itself where no layer
stops that), the kernel would hand the worker to init, out of everyone's sight: it could
live on after ``make batch`` returned and reach later gradings. With PR_SET_CHILD_SUBREAPER
it is handed to the nearest subreaper instead, the grader's parent (``python -m grader
batch``) or, for anything a worker started, the grader itself. :func:`reaping` makes this
process one and, when the work is done, kills and reaps every process it adopted.

During a batch, graders come and go (the driver's own children), so an adopted process is
killed at once only when it cannot be one of them (:func:`confined`: another uid, or more
seccomp filters or no_new_privs where the driver has none: it is a worker); the rest, at the
end of the batch, when every child left is an orphan. On a machine without Landlock and
seccomp, on a normal account, that is the only moment (docs/grading.md, "Known limits").
"""

import contextlib
import ctypes
import os
import signal
import threading

PR_SET_CHILD_SUBREAPER = 36
SCAN_SECONDS = 0.5


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux 3.4+); False where that is not possible."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _status(pid):
    try:
        with open(f"/proc/{pid}/status") as handle:
            return dict(line.split(":", 1) for line in handle if ":" in line)
    except OSError:
        return {}


def children():
    """pids of this process's children (live or zombie), from /proc."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(entry))
    return found


def _number(status, name):
    try:
        return int(status.get(name, "0").split()[0])
    except (ValueError, IndexError):
        return 0


def confined(pid, mine=None) -> bool:
    """True when ``pid`` is certainly a sandbox worker, not a grader this process started: a
    grader inherits our uid, seccomp filters and no_new_privs, unchanged until it execs."""
    mine = mine or _status(os.getpid())
    theirs = _status(pid)
    if not theirs:
        return False
    uid = lambda status: status.get("Uid", "").split()[:1]  # noqa: E731
    return (
        uid(theirs) != uid(mine)
        or _number(theirs, "Seccomp_filters") > _number(mine, "Seccomp_filters")
        or _number(theirs, "NoNewPrivs") > _number(mine, "NoNewPrivs")
    )


def kill_adopted(only_confined=False) -> int:
    """SIGKILL and reap this process's children (``only_confined``: only those that are
    certainly workers). Our own children until reaped, so their pids cannot be reused
    between the scan and the signal. Returns how many were killed. Never raises."""
    killed = 0
    mine = _status(os.getpid())
    for pid in children():
        if only_confined and not confined(pid, mine):
            continue
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)
    return killed


@contextlib.contextmanager
def reaping(during=False):
    """Be a subreaper for the block; at its end, kill and reap every child left. ``during``
    (the batch driver): also, every SCAN_SECONDS, every adopted child that is certainly a
    worker. Yields whether this process is a subreaper."""
    active = become_subreaper()
    stop = threading.Event()
    scanner = None
    if active and during:

        def scan():
            while not stop.wait(SCAN_SECONDS):
                kill_adopted(only_confined=True)

        scanner = threading.Thread(target=scan, name="reaper", daemon=True)
        scanner.start()
    try:
        yield active
    finally:
        stop.set()
        if scanner is not None:
            scanner.join()
        if active:
            kill_adopted()
