"""Who the worker runs as and what it is allowed: identity, environment, private directory,
the confinement plan it applies to itself, and the check that it really did.

The layers, each enforced by the kernel, none needing privilege but the uid switch:

* **a throwaway uid per Sandbox** when the grader is root (:func:`sandbox_account`), so
  files, signals and ptrace follow "other user" permissions and concurrent gradings cannot
  touch each other;
* **resource limits** (:func:`make_plan`): address space, CPU, file size, open files, no
  processes or threads, no core dumps, no POSIX message queue bytes;
* **Landlock** and **seccomp**, applied by the worker to itself (grader/sandbox/confine.py);
* a **scrubbed environment** and a **fresh private directory** holding only the upload.

What the kernel offers is detected once (:func:`kernel_support`); the worker's report of
what it applied is checked against it, and against the worker's /proc status where the
kernel shows a layer there (uid, seccomp mode, no_new_privs), before any student code runs
(:func:`check_confinement`). A layer the kernel offers but the worker lacks is a
SandboxError: grading never proceeds silently weaker. ``GMM1D_SANDBOX_WITHOUT=landlock``
(or ``seccomp``, or both, comma-separated) turns a layer off on purpose, for the tests that
prove each layer is what stops its attack; the results then say the layer was off.
"""

import ast
import itertools
import os
import pathlib
import shutil
import tempfile
from dataclasses import dataclass, field

from grader import paths
from grader.sandbox import capability as capabilities
from grader.sandbox import landlock, seccomp
from grader.sandbox.schema import SandboxError

PRIVATE_DIR_PREFIX = "gmm1d-sandbox-"
WITHOUT_VARIABLE = "GMM1D_SANDBOX_WITHOUT"
# Set to 1 by an instructor: every call the seccomp filter refuses is also named in the
# kernel log (dmesg), to find what a new libc or library needs (grader/sandbox/seccomp.py).
SECCOMP_LOG_VARIABLE = "GMM1D_SECCOMP_LOG"
LAYERS = ("landlock", "seccomp")
LANDLOCK_PARTS = landlock.PARTS  # part -> first ABI that has it
# What a kernel whose Landlock predates a part leaves open (said in the log and results).
LANDLOCK_GAPS = {
    "network": "TCP connect and bind are refused only by seccomp",
    "scopes": "student code can signal processes of its own uid (as root, the uid layer stops "
    "that) and reach abstract UNIX sockets outside the sandbox",
}
_SLOTS = itertools.count()


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int


def sandbox_account():
    """The unprivileged identity for a new Sandbox's workers when we are root; else None.

    Not a shared account: every Sandbox gets its own throwaway uid and gid, with no passwd
    entry, home, or supplementary groups: ``paths.SANDBOX_UID_BASE`` + 64 x the grader's pid
    + a per-process counter (mod 64). Signals and ptrace need a matching uid, so the workers
    of concurrent gradings (``make batch`` runs several grader processes at once) cannot kill
    or inspect each other, and ``RLIMIT_NPROC=0`` counts only this Sandbox's worker. Live
    pids are unique and a process holds far fewer than 64 sandboxes at once, so live uids
    are unique too; the range (up to 2**28 above the base) is far above any real account.
    """
    if os.geteuid() != 0:
        return None
    uid = uid_range(os.getpid()).start + next(_SLOTS) % 64
    return Account(f"sandbox uid {uid}", uid, uid)


def uid_range(grader_pid):
    base = paths.SANDBOX_UID_BASE + 64 * grader_pid
    return range(base, base + 64)


def environment(private_dir):
    """The worker's whole environment: nothing of the grader's is passed on."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": private_dir,
        "TMPDIR": private_dir,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        # A plot at the top of a submission draws off-screen and caches fonts in its folder.
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": private_dir,
    }
    for name in ("OPENBLAS", "OMP", "MKL", "NUMEXPR"):
        env[f"{name}_NUM_THREADS"] = "1"  # one BLAS thread: RLIMIT_NPROC=0 forbids threads
    return env


def _traversable_by_others(directory):
    path = pathlib.Path(directory).resolve()
    return all(part.stat().st_mode & 0o001 for part in [path, *path.parents])


def private_dir(account, source, landlock_holds=True):
    """A new temp dir holding only gmm1d.py, which no other user can read.

    Where Landlock holds it refuses every write there; the folder is the worker's (0700) so
    matplotlib, finding its config folder "writable", does not look for another (the write
    of its font cache then fails, quietly: confine._preload). As root without Landlock, it
    is root's with the worker's group (folder 0750, file 0440): the worker reads the upload
    and cannot write there. On a normal account without Landlock it is yours, and so
    writable (docs/grading.md, "Known limits")."""
    base = tempfile.gettempdir()
    if account is not None and not _traversable_by_others(base):
        base = "/tmp"
    directory = tempfile.mkdtemp(prefix=PRIVATE_DIR_PREFIX, dir=base)
    try:
        target = os.path.join(directory, paths.SUBMISSION_FILENAME)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(source)
        if account is not None:
            owner = account.uid if landlock_holds else 0
            os.chown(target, owner, account.gid)
            os.chown(directory, owner, account.gid)
            if not landlock_holds:
                os.chmod(target, 0o440)
        os.chmod(directory, 0o700 if account is None or landlock_holds else 0o750)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)  # ours alone: nothing ran in it yet
        raise
    return directory


# Imported by the worker before its limits when the submission imports them where importing
# the file runs the import (not inside a function: every stub's plot_fit imports matplotlib
# lazily, and preloading it cost every grading ~0.35 s of font list built in memory).
PRELOADED = {b"matplotlib": "matplotlib.pyplot"}


def _imported_at_import(source, word):
    """Whether ``source`` imports package ``word`` outside any function body; where it does
    not parse, whether it names it at all (its import fails then anyway)."""
    if word not in source:
        return False
    try:  # parsed, never run; the upload's size is capped before it gets here
        tree = ast.parse(source)
    except Exception:  # noqa: BLE001 - a syntax error, or nesting the parser refuses
        return True
    name = word.decode()
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == name for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == name:
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def make_plan(limits, account, support, source=b""):
    """The confinement plan the worker applies to itself (JSON-ready; grader/sandbox/confine.py)."""
    mb = 1 << 20
    return {
        "preload": [m for word, m in PRELOADED.items() if _imported_at_import(source, word)],
        "uid": account.uid if account else None,
        "gid": account.gid if account else None,
        "parent_pid": os.getpid(),
        # The layers the grader found (kernel_support), applied exactly: worker and check
        # (check_confinement) cannot disagree about what this machine offers.
        "landlock_abi": support.landlock_abi,
        "seccomp": support.seccomp,
        "seccomp_log": os.environ.get(SECCOMP_LOG_VARIABLE, "") == "1",
        "rlimits": {
            "AS": limits.memory_mb * mb,
            "FSIZE": limits.file_bytes,
            "CORE": 0,
            "NOFILE": limits.open_files,
            "NPROC": 0,  # no fork, no threads (enforced for every uid but root)
            "MSGQUEUE": 0,  # no POSIX message queues
            "CPU": [limits.cpu_seconds, limits.cpu_seconds + 1],  # SIGXCPU, then SIGKILL
        },
    }


@dataclass(frozen=True)
class Support:
    """What the kernel and this machine offer, and what was turned off on purpose."""

    root: bool
    landlock_abi: int
    landlock_why: str  # why Landlock is off, "" when it is on
    seccomp: bool
    seccomp_why: str
    forced_off: frozenset

    @property
    def landlock_parts(self):
        return [part for part, since in LANDLOCK_PARTS.items() if self.landlock_abi >= since]

    def landlock_gaps(self):
        """One line per part this kernel's Landlock lacks (none when Landlock is off)."""
        if not self.landlock_abi:
            return []
        return [
            f"Landlock {part} (ABI {since}+; this kernel has ABI {self.landlock_abi}): "
            f"{LANDLOCK_GAPS[part]}"
            for part, since in LANDLOCK_PARTS.items()
            if self.landlock_abi < since
        ]

    def warnings(self):
        """What an instructor must be told before grading with less than full confinement."""
        found = []
        if not self.landlock_abi:
            who = "" if self.root else " It runs as you, so it can read your files."
            found.append(
                f"{self.landlock_why}: student code can read any file its uid can read and "
                f"use the network.{who} Grade on Linux 5.13 or newer (on macOS or Windows, "
                "inside a Linux container)."
            )
        found += [f"{gap}." for gap in self.landlock_gaps()]
        if not self.seccomp:
            found.append(f"{self.seccomp_why}: student code can open sockets and SysV IPC.")
        return found


def kernel_support():
    """Detect the layers available here (cheap: two probes), minus GMM1D_SANDBOX_WITHOUT."""
    raw = os.environ.get(WITHOUT_VARIABLE, "")
    forced = frozenset(name.strip() for name in raw.split(",") if name.strip())
    unknown = forced - set(LAYERS)
    if unknown:
        raise SandboxError(
            f"{WITHOUT_VARIABLE} names unknown layers: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(LAYERS)})"
        )
    off = f"turned off by {WITHOUT_VARIABLE}"
    abi, landlock_why = (0, off) if "landlock" in forced else landlock.abi_version()
    has_seccomp, seccomp_why = (False, off) if "seccomp" in forced else seccomp.available()
    return Support(os.geteuid() == 0, abi, landlock_why, has_seccomp, seccomp_why, forced)


@dataclass(frozen=True)
class Confinement:
    """The layers in force around one worker, as checked before it imported the submission."""

    uid: int
    separate_uid: bool
    capability: str  # "" or the one capability kept (bounded by Landlock)
    landlock: tuple  # parts applied: files, network, scopes
    landlock_abi: int
    seccomp_allowed: int  # number of system calls the filter allows (0: no filter)
    off: tuple  # one line per layer not in force, saying why
    seconds: dict = field(default_factory=dict, compare=False)  # what confining cost

    def layers(self) -> str:
        """The layers in force, the same words for every grading on one machine."""
        found = []
        if self.separate_uid:
            found.append("throwaway uid")
        if self.landlock:
            found.append(f"Landlock ABI {self.landlock_abi} ({', '.join(self.landlock)})")
        if self.seccomp_allowed:
            found.append(f"seccomp (allow-list of {self.seccomp_allowed} calls)")
        if self.capability:
            found.append(f"{self.capability} bounded by Landlock")
        return ", ".join(found) or "no kernel confinement"

    def summary(self) -> str:
        """One line for the instructor's log."""
        uid = f"worker uid {self.uid}; " if self.separate_uid else ""
        return f"sandbox: {uid}{self.layers()}" + "".join(f"; OFF: {o}" for o in self.off)

    def as_dict(self) -> dict:
        """What results.json records (extra_data.sandbox)."""
        return {
            "layers": self.layers(),
            "separate_uid": self.separate_uid,
            "landlock": list(self.landlock),
            "landlock_abi": self.landlock_abi,
            "seccomp": bool(self.seccomp_allowed),
            "read_capability": self.capability or None,
            "off": list(self.off),
        }


def proc_status(pid):
    """/proc/<pid>/status as {field: value} ({} when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            return dict(line.split(":", 1) for line in handle if ":" in line)
    except OSError:
        return {}


def check_confinement(report, pid, account, support) -> Confinement:
    """The worker's "ready" report, checked; raises SandboxError if anything is missing."""

    def refuse(what):
        raise SandboxError(f"the sandbox worker is less confined than this machine allows: {what}")

    if type(report) is not dict:
        refuse("it sent no confinement report")
    uid, parts, allowed = report.get("uid"), report.get("landlock"), report.get("seccomp")
    capability = report.get("capability") or ""
    if type(uid) is not int or type(allowed) is not int or type(parts) is not list:
        refuse("its confinement report is malformed")
    status = proc_status(pid)
    if account is not None:
        real_uid = status.get("Uid", "").split()[:1]
        if uid != account.uid or real_uid != [str(account.uid)]:
            refuse(f"it runs as uid {uid}, not the grading's uid {account.uid}")
    if capability not in ("", "CAP_DAC_READ_SEARCH") or (capability and not parts):
        refuse(f"it kept {capability} without Landlock to bound it")
    if account is not None and not capability and not capabilities.nothing_held(status):
        refuse("it holds a capability (see CapEff, CapBnd... in its /proc status)")
    if parts != support.landlock_parts:
        refuse(f"Landlock parts {parts}, expected {support.landlock_parts}")
    if support.seccomp and (allowed <= 0 or status.get("Seccomp", "").strip() != "2"):
        refuse("no seccomp filter is loaded")
    if (parts or allowed) and status.get("NoNewPrivs", "").strip() != "1":
        refuse("no_new_privs is not set")
    off = []
    if not parts:
        off.append(f"Landlock: {support.landlock_why}")
    off += support.landlock_gaps()
    if not allowed:
        off.append(f"seccomp: {support.seccomp_why}")
    unknown = report.get("seccomp_unknown", [])
    if type(unknown) is not list or not all(type(name) is str for name in unknown):
        refuse("its confinement report is malformed")
    if unknown:  # an older libseccomp: those calls stay refused, which a submission may feel
        names = ", ".join(name[:40] for name in unknown[:40])
        off.append(
            f"seccomp: this libseccomp does not know {names}, so they are refused even "
            "where the allow-list permits them"
        )
    if account is None:
        off.append("separate uid: the grader is not root, so the worker runs as you")
    seconds = report.get("seconds") if type(report.get("seconds")) is dict else {}
    seconds = {k: v for k, v in seconds.items() if type(k) is str and type(v) is float}
    return Confinement(
        uid,
        account is not None,
        capability,
        tuple(parts),
        support.landlock_abi,
        allowed,
        tuple(off),
        seconds,
    )
