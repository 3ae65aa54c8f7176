"""Run untrusted student code in a separate, locked-down worker process.

The grader never imports the submission. A :class:`Sandbox` starts a worker process
(grader/worker.py, sent as source text on the command line) that imports the submission and
answers one call at a time over two pipes; every reply is validated here before the grader
sees it. What isolates the worker, and where it is enforced:

* **Its own session and process group** (``start_new_session``): on a timeout, a crash,
  a protocol violation or ``close()`` the whole group is SIGKILLed and reaped.
* **No new processes or threads** (``RLIMIT_NPROC=0``, see :func:`_limit_resources`): so
  nothing the submission starts can outlive the worker or leave its process group. The
  kernel enforces RLIMIT_NPROC only for unprivileged users, which the worker is whenever
  the grader runs as root; on a developer's machine the worker runs as the developer, whose
  other processes already exceed 0, so forking fails there too.
* **Resource limits**: address space, CPU seconds, file size, open files, no core dumps.
* **Isolated interpreter** (``-I``: no PYTHON* variables, no user site-packages, and the
  working directory is taken off ``sys.path``), **scrubbed environment** (:func:`_environment`),
  BLAS pinned to one thread, a **fresh private temp directory** as cwd holding only a copy of
  the submission (a new one for every worker, so files a submission writes do not reach the
  next worker).
* **Privilege drop** (only when the grader runs as root, as on Gradescope and in CI): the
  worker runs under a throwaway uid of its own grading (:func:`sandbox_account`) with no
  supplementary groups, so it cannot read files the grader keeps private (``chmod o=``),
  write the results, or signal/ptrace the grader or another grading's worker. Run as a normal user, the worker has the
  developer's uid: file permissions and signals do not separate it from the grader then;
  everything else above still applies.
* **Time**: a per-call wall-clock timeout, a start-up timeout and an overall budget. A
  method that timed out is not run again (later calls are "skipped" at once), and a fresh
  worker serves the next call, so a hanging estep does not cost the mstep checks.
* **Hostile replies**: the submission can rewrite the worker's code or write its own bytes
  to the reply pipe, so nothing from the worker is unpickled or trusted: frames are
  size-capped, arrays must be plain numeric .npy (grader.protocol), every header field is
  type-checked against the schema of the call (:func:`_check_values`), and every string is
  cut to one short line with paths removed. Output on stdout/stderr is drained continuously
  into a capped buffer, so a worker printing gigabytes can neither block nor bloat us.

Not covered (needs namespaces or containers): the worker can still write into
world-writable directories such as /tmp (each file at most ``Limits.file_bytes``), use the
network, and read world-readable files; make the grader's own files ``chmod o=``.
"""

import contextlib
import functools
import itertools
import os
import pathlib
import re
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from grader import paths
from grader.protocol import FrameReader, ProtocolError, TooLarge, encode_frame

PARAM_NAMES = ("priors", "mus", "variances")
OPS = ("construct", "estep", "mstep", "em_step")
# The stages a call goes through, in order (the worker announces each one before running it).
STAGES_OF_OP = {
    "construct": ("construct",),
    "estep": ("construct", "set_params", "estep"),
    "mstep": ("construct", "set_params", "mstep"),
    "em_step": ("construct", "set_params", "estep", "mstep"),
}
MAX_TEXT_CHARS = 300
MAX_CMDLINE_ARG = 120 * 1024  # Linux refuses a single argv string over 128 KiB
_CHUNK = 1 << 16
_DEATH_GRACE = 1.0  # seconds to wait for a worker that closed its reply pipe to exit


@dataclass(frozen=True)
class Limits:
    call_timeout: float = 10.0  # wall-clock seconds per call
    startup_timeout: float = 20.0  # start the worker + import the submission
    total_budget: float = 120.0  # all student-code wall time in one Sandbox's life
    memory_mb: int = 512  # RLIMIT_AS of the worker
    cpu_seconds: int = 120  # RLIMIT_CPU of each worker
    output_bytes: int = 8192  # captured stdout+stderr kept per call (rest dropped, say how much)
    reply_bytes: int = 32 << 20  # largest reply frame accepted
    file_bytes: int = 1 << 20  # RLIMIT_FSIZE


class SandboxError(Exception):
    """The sandbox itself could not work (our side, not the student's): e.g. the worker
    interpreter cannot start, or cannot import numpy. The grader turns this into an
    'error on our side' result, never into a student's zero."""


@dataclass
class Reply:
    kind: str  # "ok" | "exception" | "timeout" | "crash" | "load_error" | "skipped" | "protocol"
    error: str  # "" when ok; else one short student-facing line, free of grader paths
    output: str = ""  # stdout+stderr printed during this call, truncated to Limits.output_bytes
    elapsed: float = 0.0  # wall seconds of the call
    values: dict = field(default_factory=dict)  # small validated scalars/strings (op-specific)
    arrays: dict = field(default_factory=dict)  # name -> plain float64 ndarray

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


# --- text hygiene --------------------------------------------------------------------------

_ABS_PATH = re.compile(r"(?:/[^/\s'\"():,;<>|]+)+/([^/\s'\"():,;<>|]+)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_GRADER_PLACES = sorted(
    {
        (str(paths.PROJECT_ROOT), "<grader>"),
        (os.path.realpath(sys.prefix), "<python>"),
        (sys.prefix, "<python>"),
        (os.path.realpath(sys.base_prefix), "<python>"),
        (sys.base_prefix, "<python>"),
    },
    key=lambda item: -len(item[0]),  # longest first, so a nested place wins
)


def strip_paths(text):
    """Replace absolute paths by their last component: '/a/b/gmm1d.py' -> 'gmm1d.py'."""
    return _ABS_PATH.sub(r"\1", text)


def clean_text(text, limit=MAX_TEXT_CHARS):
    """One short, printable line without absolute paths (for anything shown to students).

    Lone surrogates (valid in JSON, unprintable and unencodable later) become "?".
    """
    text = str(text)[: 4 * limit].encode("utf-8", errors="replace").decode("utf-8")
    text = strip_paths(_CONTROL.sub("", text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class OutputCapture:
    """The first ``limit`` bytes of a worker's stdout+stderr; later bytes are only counted."""

    def __init__(self, limit):
        self.limit = limit
        self.private_dir = None  # set to the worker's temp dir: its name is not shown
        self.kept = bytearray()
        self.dropped = 0

    def feed(self, chunk):
        room = self.limit - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]
        self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self):
        private_dir = self.private_dir
        text = self.kept.decode("utf-8", errors="replace").replace("\x00", "")
        if private_dir:  # e.g. numpy warnings name the file by its full temp path
            text = text.replace(private_dir + os.sep, "").replace(private_dir, ".")
        # The grader's own locations are readable from /proc/<ppid>/cmdline and tracebacks
        # name site-packages: a student sees neither the checkout nor the interpreter's tree.
        for place, label in _GRADER_PLACES:
            text = text.replace(place, label)
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes not shown]"
        return text


# --- validating replies --------------------------------------------------------------------


def _str(value):
    if type(value) is not str:
        raise ProtocolError("expected a string")
    return clean_text(value)


def _int_or_none(value):
    if value is None:
        return None
    if type(value) is not int or abs(value) >= 2**62:
        raise ProtocolError("expected an int")
    return value


def _shape_or_none(value):
    if value is None:
        return None
    if type(value) is not list or len(value) > 32:
        raise ProtocolError("expected a shape")
    for dim in value:
        if type(dim) is not int or not 0 <= dim < 2**62:
            raise ProtocolError("expected a shape")
    return list(value)


def _str_dict(allowed, required=False):
    def check(value):
        if type(value) is not dict or not set(value) <= set(allowed):
            raise ProtocolError("unexpected keys")
        if required and set(value) != set(allowed):
            raise ProtocolError("missing keys")
        return {key: _str(item) for key, item in value.items()}

    return check


# Per operation: value key -> (validator, required). Arrays: allowed names.
_PARAM_ERRORS = (_str_dict(PARAM_NAMES), False)
_VALUE_SCHEMAS = {
    "construct": {
        "num_gaussians": (_int_or_none, True),
        "num_gaussians_repr": (_str, True),
        "param_types": (_str_dict(PARAM_NAMES, required=True), True),
        "param_errors": _PARAM_ERRORS,
    },
    "estep": {
        "result_type": (_str, True),
        "result_shape": (_shape_or_none, True),
        "param_errors": _PARAM_ERRORS,
        "array_errors": (_str_dict(("result", "X_after")), False),
    },
    "mstep": {
        "returned_type": (_str, True),
        "param_errors": _PARAM_ERRORS,
        "array_errors": (_str_dict(("X_after", "gammas_after")), False),
    },
    "em_step": {
        "result_type": (_str, True),
        "result_shape": (_shape_or_none, True),
        "param_errors": _PARAM_ERRORS,
        "array_errors": (_str_dict(("gammas",)), False),
    },
}
_ARRAY_NAMES = {
    "construct": set(PARAM_NAMES),
    "estep": {"result", "X_after", *PARAM_NAMES},
    "mstep": {"X_after", "gammas_after", *PARAM_NAMES},
    "em_step": {"gammas", *PARAM_NAMES},
}


def _check_values(op, values):
    """The ``values`` of an "ok" reply to ``op``, checked key by key; raises ProtocolError."""
    if type(values) is not dict:
        raise ProtocolError("values is not an object")
    schema = _VALUE_SCHEMAS[op]
    unknown = set(values) - set(schema)
    if unknown:
        raise ProtocolError("unexpected value keys")
    checked = {}
    for key, (validate, required) in schema.items():
        if key in values:
            checked[key] = validate(values[key])
        elif required:
            raise ProtocolError(f"missing value {key}")
    return checked


def _check_reply(op, call_id, header, arrays):
    """(kind, error, values, arrays) of a "reply" frame, validated; raises ProtocolError."""
    if (
        header.get("type") != "reply"
        or type(header.get("id")) is not int
        or header["id"] != call_id
    ):
        raise ProtocolError("reply to another request")
    kind = header.get("kind")
    error = header.get("error")
    if type(error) is not str:
        raise ProtocolError("error is not a string")
    if kind == "exception":
        values = header.get("values")
        if arrays or type(values) is not dict or set(values) != {"stage"}:
            raise ProtocolError("bad exception reply")
        if values["stage"] not in STAGES_OF_OP[op]:
            raise ProtocolError("bad stage")
        return kind, clean_text(error) or "an exception was raised", {"stage": values["stage"]}, {}
    if kind != "ok":
        raise ProtocolError("bad reply kind")
    values = _check_values(op, header.get("values"))
    if not set(arrays) <= _ARRAY_NAMES[op]:
        raise ProtocolError("unexpected array")
    for name, array in list(arrays.items()):
        if isinstance(array, TooLarge):
            del arrays[name]
            key = "param_errors" if name in PARAM_NAMES else "array_errors"
            values.setdefault(key, {})[name] = f"too large to check: shape {array.shape}"
    for name in PARAM_NAMES:
        if name in arrays and arrays[name].ndim != 1:
            raise ProtocolError("parameters must come back raveled")
    return "ok", "", values, arrays


# --- starting the worker -------------------------------------------------------------------


@functools.cache
def worker_source():
    """The ``-c`` program: grader/protocol.py and grader/worker.py as source text.

    Both are installed as modules ``grader.protocol`` / ``grader.worker`` of a stand-in
    ``grader`` package, so worker.py's ``from grader import protocol`` works unchanged. The
    bootstrap first takes the working directory (the submission's) off ``sys.path``: with
    ``-c``, Python <= 3.10 puts it first even under ``-I``, and a file the submission wrote
    there (``numpy.py``) must not be imported by the next worker before it is "ready".
    """
    here = pathlib.Path(__file__).resolve().parent
    protocol_text = (here / "protocol.py").read_text(encoding="utf-8")
    worker_text = (here / "worker.py").read_text(encoding="utf-8")
    source = (
        "import os, sys, types\n"
        "_cwd = os.getcwd()\n"
        "sys.path[:] = [p for p in sys.path if p not in ('', '.') and os.path.abspath(p) != _cwd]\n"
        "_pkg = types.ModuleType('grader'); _pkg.__path__ = []; sys.modules['grader'] = _pkg\n"
        f"for _name, _text in (('protocol', {protocol_text!r}), ('worker', {worker_text!r})):\n"
        "    _mod = types.ModuleType('grader.' + _name)\n"
        "    _mod.__file__ = '<grader/' + _name + '.py>'\n"
        "    sys.modules[_mod.__name__] = _mod\n"
        "    setattr(_pkg, _name, _mod)\n"
        "    exec(compile(_text, _mod.__file__, 'exec'), _mod.__dict__)\n"
        "del _cwd, _pkg, _name, _text, _mod\n"
        "sys.modules['grader.worker'].main(sys.argv[1:])\n"
    )
    if len(source.encode("utf-8")) > MAX_CMDLINE_ARG:
        raise SandboxError("the worker's source is too long to pass on the command line")
    return source


@dataclass(frozen=True)
class _Account:
    name: str
    uid: int
    gid: int


_SLOTS = itertools.count()
PRIVATE_DIR_PREFIX = "gmm1d-sandbox-"


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
    uid = _uid_range(os.getpid()).start + next(_SLOTS) % 64
    return _Account(f"sandbox uid {uid}", uid, uid)


def _uid_range(grader_pid):
    return range(
        paths.SANDBOX_UID_BASE + 64 * grader_pid, paths.SANDBOX_UID_BASE + 64 * (grader_pid + 1)
    )


def kill_workers_of(grader_pid) -> int:
    """SIGKILL every process running under one of ``grader_pid``'s sandbox uids, and remove
    the private directories that grader could not clean up.

    For whoever started a grader process and had to kill it (the batch's timeout): its workers
    live in sessions of their own, so killing the grader's group misses them. Only uids of that
    grader are touched. Root only (returns 0 otherwise); returns how many were signalled.
    """
    if os.geteuid() != 0:
        return 0
    uids = _uid_range(grader_pid)
    try:
        killed = _kill_uids(uids)
    finally:
        _remove_files_of(uids)
    return killed


# World-writable places an unprivileged uid can leave files in (besides its private dir).
SHARED_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


def _remove_files_of(uids):
    """As root: delete every top-level entry of the shared directories owned by ``uids``
    (the worker's private dirs included). Only there can such a uid create anything: it owns
    no other directory. Never follows symlinks."""
    for base in {tempfile.gettempdir(), *SHARED_DIRS}:
        with contextlib.suppress(OSError):
            for entry in os.scandir(base):
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_uid not in uids:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        _remove_tree(entry.path, True)
                    else:
                        os.unlink(entry.path)


def _kill_uids(uids):
    killed = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
            uid = int(fields["Uid"].split()[0])
        except (OSError, KeyError, ValueError, IndexError):
            continue
        if uid in uids and not fields.get("State", "").strip().startswith("Z"):  # zombies are dead
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)
                killed += 1
    return killed


def _environment(private_dir):
    """The worker's whole environment: nothing of the grader's is passed on."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": private_dir,
        "TMPDIR": private_dir,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in (
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        env[name] = "1"  # one BLAS thread: faster here, and RLIMIT_NPROC=0 forbids threads
    return env


def _limit_resources(limits):
    """preexec_fn: runs in the child after the uid switch, just before exec."""

    def apply():
        mb = 1 << 20
        for which, value in (
            (resource.RLIMIT_AS, limits.memory_mb * mb),
            (resource.RLIMIT_FSIZE, limits.file_bytes),
            (resource.RLIMIT_CORE, 0),
            (resource.RLIMIT_NOFILE, 64),
            # No fork, no threads: nothing the submission starts can outlive the worker's
            # process group (enforced for every uid but root; see the module docstring).
            (resource.RLIMIT_NPROC, 0),
        ):
            resource.setrlimit(which, (value, value))
        # Die with the grader: if it is killed, nothing is left waiting on a dead pipe. (The
        # submission could undo this; kill_workers_of() is the backstop.) PR_SET_PDEATHSIG
        # is set here, after the uid switch, because a credential change clears it.
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        # SIGXCPU at the soft limit, SIGKILL a second later.
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        # If the machine runs out of memory anyway (Gradescope: 768 MB for everything), the
        # kernel's OOM killer should pick the worker, not the grader. Raising is unprivileged.
        try:
            with open("/proc/self/oom_score_adj", "w") as handle:
                handle.write("1000")
        except OSError:
            pass

    return apply


def _traversable_by_others(directory):
    path = pathlib.Path(directory).resolve()
    for part in [path, *path.parents]:
        if not part.stat().st_mode & 0o001:
            return False
    return True


def _private_dir(account, source):
    """A new temp dir (mode 0700, owned by the worker's user) holding only gmm1d.py."""
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
            os.chown(target, account.uid, account.gid)
            os.chown(directory, account.uid, account.gid)
        os.chmod(directory, 0o700)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return directory


def _remove_tree(directory, as_root):
    """Remove a worker's private directory, including what the submission left in it.

    As root, rmtree cannot be stopped by permissions, and it does not follow symlinks. As a
    normal user the submission (same uid) may have made subdirectories unwritable: restore
    u+rwx on real directories (never through symlinks) and try again.
    """
    shutil.rmtree(directory, ignore_errors=True)
    if as_root or not os.path.lexists(directory):
        return
    for root, dirnames, _ in os.walk(directory):
        for name in dirnames:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o700)
    with contextlib.suppress(OSError):
        os.chmod(directory, 0o700)
    shutil.rmtree(directory, ignore_errors=True)


def _session_members(sid):
    """pids of live processes in session ``sid`` (from /proc), excluding none."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 3 and int(fields[3]) == sid:
            found.append(int(entry))
    return found


class _Worker:
    """One worker process and the parent's ends of its pipes."""

    def __init__(self, proc, private_dir, request_fd, reply_fd, reply_bytes, as_root):
        self.as_root = as_root
        self.proc = proc
        self.pid = proc.pid
        self.private_dir = private_dir
        self.request_fd = request_fd
        self.reply_fd = reply_fd
        self.output_fds = [proc.stdout.fileno(), proc.stderr.fileno()]
        self.reader = FrameReader(reply_bytes)
        self.reply_eof = False
        self.frames = []  # complete frames not yet consumed
        self.received = 0  # reply bytes received during the current call
        self.stage = None  # the last stage the worker announced
        for fd in (request_fd, reply_fd, *self.output_fds):
            os.set_blocking(fd, False)

    def exit_status(self):
        """The worker's wait status if it has exited (without reaping it), else None."""
        if self.proc.returncode is not None:
            return self.proc.returncode
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return None
        if info is None:
            return None
        if info.si_code == os.CLD_EXITED:
            return info.si_status
        return -info.si_status

    def kill(self):
        """SIGKILL the worker's process group (and any stray session member), reap, clean up.

        The group is killed before the leader is reaped: until then its pid cannot be
        reused, so the signal cannot hit an unrelated process group.
        """
        if self.proc.returncode is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            for pid in _session_members(self.pid):  # belt and braces; see RLIMIT_NPROC
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - unkillable (D state)
                pass
        for fd in (self.request_fd, self.reply_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.request_fd = self.reply_fd = -1
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()
        if self.private_dir:
            _remove_tree(self.private_dir, self.as_root)
            self.private_dir = None


# --- the sandbox ---------------------------------------------------------------------------


class Sandbox:
    """Runs GMM1D methods of one submission in worker processes; see the module docstring.

    ``python`` (an addition for tests and deployments) is the interpreter for the worker;
    it defaults to ``sys.executable`` and must have numpy. Reads the submission once, here.
    """

    def __init__(self, submission: pathlib.Path, limits: Limits = Limits(), *, python=None):
        self.limits = limits
        self._source = pathlib.Path(submission).read_bytes()
        self._python = python or sys.executable
        self._account = sandbox_account()
        self._worker = None
        self._load_error = None
        self._hung = {}  # stage -> label of the call that timed out in it
        self._used = 0.0  # wall seconds charged to the budget
        self._next_id = 1
        self._closed = False
        self._carry = None  # output captured by start(), shown with the next call

    # -- public interface -------------------------------------------------------------------

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Kill everything the submission started and remove the temp dir; idempotent.

        As root, also remove whatever the worker's uid left in the world-writable places
        (/tmp, /var/tmp, /dev/shm, ...): files there would outlive the grading, occupy memory
        (/dev/shm is RAM, outside RLIMIT_AS) and could carry data to a later grading."""
        self._closed = True
        self._stop_worker()
        if self._account is not None:
            _remove_files_of(range(self._account.uid, self._account.uid + 1))

    @property
    def load_error(self):
        return self._load_error

    @property
    def worker_pid(self):
        """pid (= process group and session id) of the live worker, or None (addition)."""
        return None if self._worker is None else self._worker.pid

    @property
    def budget_used(self) -> float:
        """Wall seconds charged to ``Limits.total_budget`` so far (addition)."""
        return self._used

    def start(self):
        """Start the worker and import the submission now, rather than in the first call
        (addition: for benchmarks and warm-up). Returns None when it is ready, else the
        Reply the first call would have returned (load_error, or a budget timeout).
        Charged to the budget like a call; raises SandboxError as calls do."""
        if self._closed:
            raise RuntimeError("the sandbox is closed")
        if self._load_error is not None:
            return Reply("load_error", self._load_error)
        started = time.monotonic()
        capture = OutputCapture(self.limits.output_bytes)
        try:
            _, reply = self._ready_worker(capture, started)
        except BaseException:
            self._stop_worker()
            raise
        finally:
            self._used += time.monotonic() - started
        if reply is not None:
            reply.elapsed = time.monotonic() - started
            reply.output = capture.text()
        else:
            self._carry = capture  # what the import printed goes with the first call
        return reply

    def construct(self, k: int) -> Reply:
        return self._call("construct", k, {}, {})

    def estep(self, k: int, params: dict, X: np.ndarray) -> Reply:
        return self._call("estep", k, params, {"X": X})

    def mstep(self, k: int, params: dict, X: np.ndarray, gammas: np.ndarray) -> Reply:
        return self._call("mstep", k, params, {"X": X, "gammas": gammas})

    def em_step(self, k: int, params: dict, X: np.ndarray) -> Reply:
        return self._call("em_step", k, params, {"X": X})

    # -- one call -----------------------------------------------------------------------------

    def _label(self, stage, k):
        return {
            "construct": f"{paths.CLASS_NAME}({k})",
            "set_params": f"setting priors, mus and variances on {paths.CLASS_NAME}({k})",
        }.get(stage, stage)

    def _call(self, op, k, params, data):
        if self._closed:
            raise RuntimeError("the sandbox is closed")
        k = int(k)
        request = self._request_arrays(op, k, params, data)
        if self._load_error is not None:
            return Reply("load_error", self._load_error)
        for stage in STAGES_OF_OP[op]:
            if stage in self._hung:
                return Reply(
                    "skipped",
                    f"{self._hung[stage]} already exceeded the time limit in an earlier check; "
                    "not run again",
                )
        if self._used >= self.limits.total_budget:
            return Reply("skipped", self._budget_message())
        started = time.monotonic()
        capture, self._carry = self._carry or OutputCapture(self.limits.output_bytes), None
        try:
            reply = self._run(op, k, request, capture, started)
        except BaseException:
            self._stop_worker()
            raise
        finally:
            self._used += time.monotonic() - started
        reply.elapsed = time.monotonic() - started
        reply.output = capture.text()
        return reply

    def _budget_message(self):
        return f"the time budget for your code ({self.limits.total_budget:g} s) is used up"

    def _budget_left(self, started):
        return self.limits.total_budget - self._used - (time.monotonic() - started)

    @staticmethod
    def _request_arrays(op, k, params, data):
        arrays = {}
        if op != "construct":
            if set(params) != set(PARAM_NAMES):
                raise ValueError(f"params must have exactly the keys {PARAM_NAMES}")
            for name in PARAM_NAMES:
                arrays[name] = np.asarray(params[name], dtype=np.float64).ravel()
                if arrays[name].size != k:
                    raise ValueError(f"params[{name!r}] must have {k} elements")
        for name, value in data.items():
            arrays[name] = np.asarray(value, dtype=np.float64)
        return arrays

    def _run(self, op, k, request, capture, started):
        worker, reply = self._ready_worker(capture, started)
        if reply is not None:
            return reply
        call_id = self._next_id
        self._next_id += 1
        payload = encode_frame({"type": "call", "id": call_id, "op": op, "k": k}, request)
        # What an honest reply can hold: the arrays sent, an (n, k) result, the parameters.
        # More is refused undecoded (TooLarge), so a reply cannot grow 8x in this process.
        n = request["X"].size if "X" in request else 0
        sent = sum(array.size for array in request.values())
        worker.reader.max_elements = 4 * (sent + n * k) + 64 * k + 4096
        budget_left = self._budget_left(started)
        timeout = min(self.limits.call_timeout, budget_left)
        deadline = time.monotonic() + timeout
        worker.received = 0
        worker.stage = None
        try:
            status, header, arrays = self._exchange(worker, capture, deadline, payload, call_id, op)
            if status == "frame":
                if header.get("type") != "reply":
                    raise ProtocolError("unexpected frame")
                kind, error, values, arrays = _check_reply(op, call_id, header, arrays)
                self._drain_output(worker, capture)
                if worker.frames or worker.reader.pending:
                    raise ProtocolError("data after the reply")
                return Reply(kind, error, values=values, arrays=arrays)
        except ProtocolError as exc:
            self._stop_worker()
            return Reply(
                "protocol",
                "your code's process sent back something unreadable",
                values={"detail": clean_text(exc)},
            )
        if status == "timeout":
            # No progress frame means our worker never started the call: the submission
            # sabotaged it (or the machine stalled). Nothing to blame a method for.
            stage = worker.stage
            label = self._label(stage, k) if stage else "your code's process"
            self._stop_worker()
            if timeout < self.limits.call_timeout:
                return Reply("timeout", f"{label} was stopped: {self._budget_message()}")
            if stage is None:
                return Reply(
                    "timeout", f"{label} did not answer within {self.limits.call_timeout:g} s"
                )
            self._hung[stage] = label
            return Reply("timeout", f"{label} did not return within {self.limits.call_timeout:g} s")
        # status == "dead"
        message, values = self._death(worker, capture, deadline)
        return Reply("crash", message, values=values)

    # -- worker life cycle --------------------------------------------------------------------

    def _stop_worker(self):
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()

    def _ready_worker(self, capture, started):
        """(live worker that imported the submission, None) or (None, reply to return)."""
        worker = self._worker
        if worker is not None and not self._is_clean(worker, capture):
            self._stop_worker()
            worker = None
        if worker is not None:
            capture.private_dir = worker.private_dir
            return worker, None
        budget_left = self._budget_left(started)
        timeout = min(self.limits.startup_timeout, budget_left)
        deadline = time.monotonic() + timeout
        worker = self._worker = self._spawn()
        capture.private_dir = worker.private_dir
        budget_stop = Reply(
            "timeout",
            f"importing {paths.SUBMISSION_FILENAME} was stopped: {self._budget_message()}",
        )
        try:
            status, header, _ = self._exchange(worker, capture, deadline)
        except ProtocolError as exc:
            self._stop_worker()
            raise SandboxError(f"the sandbox worker sent a bad first frame ({exc})") from None
        if status != "frame" or header.get("type") != "ready":
            if status == "timeout" and timeout < self.limits.startup_timeout:
                self._stop_worker()
                return None, budget_stop
            raise self._startup_failure(worker, capture, status, deadline)
        try:
            status, header, _ = self._exchange(worker, capture, deadline)
            if status == "frame":
                message = self._loaded_message(header)
                if message is None:
                    return worker, None
                self._load_error = message
        except ProtocolError:
            self._load_error = (
                f"importing {paths.SUBMISSION_FILENAME} failed: "
                "your code's process sent back something unreadable"
            )
        if status == "timeout":
            if timeout < self.limits.startup_timeout:
                self._stop_worker()
                return None, budget_stop
            self._load_error = (
                f"importing {paths.SUBMISSION_FILENAME} did not finish within "
                f"{self.limits.startup_timeout:g} s"
            )
        elif status == "dead":
            death, _ = self._death(worker, capture, deadline)
            self._load_error = f"importing {paths.SUBMISSION_FILENAME} failed: {death}"
        self._stop_worker()
        return None, Reply("load_error", self._load_error)

    def _loaded_message(self, header):
        """None if the "loaded" frame says the import worked, else the load_error text."""
        name, cls = paths.SUBMISSION_FILENAME, paths.CLASS_NAME
        status = header.get("type") == "loaded" and header.get("status")
        classes = header.get("classes", [])
        if type(classes) is not list or not all(type(c) is str for c in classes):
            raise ProtocolError("bad class list")
        found = ", ".join(clean_text(c, 60) for c in classes[:20]) or "none"
        if status == "ok":
            return None
        if status == "import_error" and type(header.get("error")) is str:
            return f"importing {name} failed: {clean_text(header['error'])}"
        if status == "no_class":
            return f"{name} defines no class {cls} (classes found: {found})"
        if status == "not_a_class" and type(header.get("found_type")) is str:
            return f"{name} defines {cls}, but it is a {clean_text(header['found_type'], 80)}, not a class"
        raise ProtocolError("bad loaded frame")

    def _spawn(self):
        account = self._account
        private_dir = _private_dir(account, self._source)
        try:
            request_read, request_write = os.pipe()
            try:
                reply_read, reply_write = os.pipe()
            except OSError:
                os.close(request_read)
                os.close(request_write)
                raise
        except OSError as exc:
            _remove_tree(private_dir, account is not None)
            raise SandboxError(f"cannot create pipes for the sandbox worker: {exc}") from None
        argv = [
            # -B: -I ignores PYTHONDONTWRITEBYTECODE, and no __pycache__ should appear in the
            # submission's directory.
            self._python, "-I", "-B", "-u", "-c", worker_source(),
            str(request_read), str(reply_write),
            paths.SUBMISSION_FILENAME, paths.CLASS_NAME, str(self.limits.reply_bytes),
        ]  # fmt: skip
        identity = {}
        if account is not None:
            identity = {"user": account.uid, "group": account.gid, "extra_groups": []}
        proc = None
        try:
            proc = subprocess.Popen(
                argv,
                cwd=private_dir,  # holds only the copy of the submission
                env=_environment(private_dir),  # nothing of ours is inherited
                start_new_session=True,  # pgid = sid = pid: one killpg gets everything
                pass_fds=(request_read, reply_write),  # close_fds: no other fd of ours leaks
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,  # captured apart from the reply channel
                stderr=subprocess.PIPE,
                umask=0o077,
                preexec_fn=_limit_resources(self.limits),  # after the uid switch, before exec
                **identity,  # as root: the sandbox user, its group, no supplementary groups
            )
        except (OSError, subprocess.SubprocessError) as exc:
            os.close(request_write)
            os.close(reply_read)
            _remove_tree(private_dir, account is not None)
            raise SandboxError(f"cannot start the sandbox worker: {exc}. {self._who()}") from None
        finally:
            # The worker's ends: only the worker may hold them, so that its death shows up
            # here as end-of-file on the reply pipe (and EPIPE on the request pipe).
            os.close(request_read)
            os.close(reply_write)
        return _Worker(
            proc,
            private_dir,
            request_write,
            reply_read,
            self.limits.reply_bytes,
            account is not None,
        )

    def _who(self):
        account = self._account
        who = account.name if account else "the current user"
        text = f"Interpreter {self._python} run as {who}."
        if account is not None:
            text += (
                " Any unprivileged user must be able to reach and execute the interpreter and read its "
                "libraries and site-packages (numpy): every directory on the way needs o+x "
                "(a virtualenv made under umask 077 does not have it); if they are under /root "
                "(pyenv), run `chmod o+x /root` as .ci/run and setup.sh do"
            )
        return text

    def _startup_failure(self, worker, capture, status, deadline):
        if status == "timeout":
            reason = f"it did not start within {self.limits.startup_timeout:g} s"
        elif status == "dead":
            reason, _ = self._death(worker, capture, deadline)
        else:
            reason = "it sent an unexpected first frame"
        self._stop_worker()
        lines = capture.kept.decode("utf-8", errors="replace").strip().splitlines()
        tail = f" Its last output: {lines[-1][:300]}" if lines else ""
        return SandboxError(f"the sandbox worker could not start: {reason}.{tail} {self._who()}")

    # -- I/O ------------------------------------------------------------------------------------

    def _is_clean(self, worker, capture):
        """True if an idle worker is alive and has sent nothing since its last reply.

        Anything on the reply pipe between calls came from the submission (a signal handler,
        say), not from our worker code: that worker is replaced.
        """
        self._drain_output(worker, capture)
        if worker.frames or worker.reader.pending or worker.reply_eof:
            return False
        try:
            os.read(worker.reply_fd, _CHUNK)
        except BlockingIOError:  # nothing there: the expected state
            return worker.exit_status() is None
        except OSError:
            pass
        return False  # stray bytes, or end of file (it died between calls)

    def _drain_output(self, worker, capture):
        """Read what stdout/stderr hold right now (at most 4 MiB each), without waiting.

        Bounded, because a worker could keep refilling a pipe as fast as we empty it.
        """
        for fd in list(worker.output_fds):
            for _ in range(64):
                try:
                    chunk = os.read(fd, _CHUNK)
                except BlockingIOError:
                    break
                except OSError:
                    chunk = b""
                if not chunk:
                    worker.output_fds.remove(fd)
                    break
                capture.feed(chunk)

    def _exchange(self, worker, capture, deadline, payload=b"", call_id=None, op=None):
        """Send ``payload`` and pump the pipes until one frame other than "progress" arrives.

        Returns ("frame", header, arrays), ("timeout", None, None) when ``deadline`` passes, or
        ("dead", None, None) when the reply pipe reaches end of file (the worker exited or
        closed it). Raises ProtocolError for bad bytes, an oversized reply or a bad progress
        frame. The request is written non-blockingly too: a worker that stops reading cannot
        block the grader past the deadline.
        """
        pending = memoryview(payload)
        selector = selectors.DefaultSelector()
        try:
            selector.register(worker.reply_fd, selectors.EVENT_READ, "reply")
            for fd in worker.output_fds:
                selector.register(fd, selectors.EVENT_READ, "output")
            if pending:
                selector.register(worker.request_fd, selectors.EVENT_WRITE, "request")
            while True:
                while worker.frames:
                    header, arrays = worker.frames.pop(0)
                    if header.get("type") != "progress" or call_id is None:
                        return "frame", header, arrays
                    stage = header.get("stage")
                    if header.get("id") != call_id or stage not in STAGES_OF_OP[op]:
                        raise ProtocolError("bad progress frame")
                    worker.stage = stage
                if worker.reply_eof:
                    return "dead", None, None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout", None, None
                for key, _ in selector.select(remaining):
                    fd = key.fd
                    if key.data == "request":
                        try:
                            pending = pending[os.write(fd, pending[:_CHUNK]) :]
                        except BlockingIOError:
                            continue
                        except OSError:  # EPIPE: it died; the reply pipe will say so
                            pending = pending[:0]
                        if not pending:
                            selector.unregister(fd)
                        continue
                    try:
                        chunk = os.read(fd, _CHUNK)
                    except BlockingIOError:
                        continue
                    except OSError:
                        chunk = b""
                    if key.data == "output":
                        if chunk:
                            capture.feed(chunk)
                        else:
                            selector.unregister(fd)
                            worker.output_fds.remove(fd)
                    elif not chunk:
                        selector.unregister(fd)
                        worker.reply_eof = True
                    else:
                        worker.received += len(chunk)
                        if worker.received > self.limits.reply_bytes:
                            raise ProtocolError("reply too large")
                        worker.frames.extend(worker.reader.feed(chunk))
        finally:
            selector.close()

    def _death(self, worker, capture, deadline):
        """Why a worker whose reply pipe closed is gone: (student-facing message, values).

        Waits up to _DEATH_GRACE for it to exit on its own (collecting its last output); one
        that is still running after closing its reply pipe is killed.
        """
        grace = time.monotonic() + _DEATH_GRACE
        status = worker.exit_status()
        while status is None and time.monotonic() < grace:
            self._drain_output(worker, capture)
            time.sleep(0.005)
            status = worker.exit_status()
        self._drain_output(worker, capture)
        self._stop_worker()
        if status is None:
            return "the process running your code stopped answering (it closed its channel)", {}
        if status >= 0:
            return f"the process running your code exited (exit code {status})", {
                "exit_code": status
            }
        number = -status
        hints = {
            signal.SIGKILL: "memory limit?",
            signal.SIGXCPU: f"CPU time limit of {self.limits.cpu_seconds} s",
            signal.SIGSEGV: "segmentation fault",
            signal.SIGABRT: "aborted",
            signal.SIGBUS: "bus error",
        }
        hint = hints.get(number)
        detail = f"signal {number}; {hint}" if hint else f"signal {number}"
        return f"the process running your code was killed ({detail})", {"signal": number}
