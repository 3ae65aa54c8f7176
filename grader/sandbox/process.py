"""The worker process and its pipes: the program it runs, starting it, talking to it, its end.

The worker never reads a grader file: its whole program travels on its command line
(:func:`worker_source`), the modules it needs (:data:`WORKER_MODULES`) installed under
their real names in a stand-in ``grader`` package. Requests go down one pipe and replies
come up another; the worker's stdout and stderr are separate pipes, drained into a capped
buffer, so a worker printing gigabytes can neither block the grader nor bloat it.

Security: the worker runs in a new session and process group (one killpg reaches all of
it), with the grader's environment replaced, stdin closed and only its two pipe ends
passed; only the worker holds those ends, so its death shows up here as end of file.
"""

import functools
import json
import os
import pathlib
import selectors
import signal
import subprocess
import sys
import time

from grader import paths
from grader.cases import PARAM_NAMES
from grader.sandbox import cleanup, isolation
from grader.sandbox.protocol import FrameReader, ProtocolError
from grader.sandbox.schema import SandboxError

MAX_CMDLINE_ARG = 120 * 1024  # Linux refuses a single argv string over 128 KiB
CHUNK = 1 << 16
DEATH_GRACE = 1.0  # seconds to wait for a worker that closed its reply pipe to exit
# The modules of the worker program, in import order: (dotted name, file under grader/).
WORKER_MODULES = (
    ("grader.text", "text.py"),
    ("grader.strictjson", "strictjson.py"),
    ("grader.sandbox.protocol", "sandbox/protocol.py"),
    ("grader.sandbox.landlock", "sandbox/landlock.py"),
    ("grader.sandbox.seccomp", "sandbox/seccomp.py"),
    ("grader.sandbox.capability", "sandbox/capability.py"),
    ("grader.sandbox.confine", "sandbox/confine.py"),
    ("grader.sandbox.describe", "sandbox/describe.py"),
    ("grader.sandbox.worker", "sandbox/worker.py"),
)

_GRADER_PLACES = sorted(
    {
        (str(paths.PROJECT_ROOT), "<grader>"),
        (os.path.realpath(sys.prefix), "<python>"),
        (sys.prefix, "<python>"),
        (os.path.realpath(sys.base_prefix), "<python>"),
        (sys.base_prefix, "<python>"),
    }
    - {(place, "<python>") for place in ("/", "/usr", "/usr/local")},  # no secret, and common
    key=lambda item: -len(item[0]),  # longest first, so a nested place wins
)


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
        # The grader's own locations could be read from /proc without Landlock, and
        # tracebacks name site-packages: a student sees neither the checkout nor the
        # interpreter's tree.
        for place, label in _GRADER_PLACES:
            text = text.replace(place, label)
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes not shown]"
        return text


@functools.cache
def worker_source():
    """The ``-c`` program: the worker's modules as source text, then ``worker.main``.

    The bootstrap first takes the working directory (the submission's) off ``sys.path``:
    with ``-c``, Python <= 3.10 puts it first even under ``-I``, and a file the submission
    wrote there (``numpy.py``) must not be imported by the next worker before it is ready.
    """
    here = pathlib.Path(__file__).resolve().parent.parent
    modules = [(name, (here / file).read_text(encoding="utf-8")) for name, file in WORKER_MODULES]
    source = (
        "import os, sys, types\n"
        "_cwd = os.getcwd()\n"
        "sys.path[:] = [p for p in sys.path if p not in ('', '.') and os.path.abspath(p) != _cwd]\n"
        "for _pkg in ('grader', 'grader.sandbox'):\n"
        "    sys.modules[_pkg] = types.ModuleType(_pkg)\n"
        "    sys.modules[_pkg].__path__ = []\n"
        "sys.modules['grader'].sandbox = sys.modules['grader.sandbox']\n"
        f"for _name, _text in {modules!r}:\n"
        "    _mod = types.ModuleType(_name)\n"
        "    _mod.__file__ = '<' + _name.replace('.', '/') + '.py>'\n"
        "    sys.modules[_name] = _mod\n"
        "    _parent, _, _leaf = _name.rpartition('.')\n"
        "    setattr(sys.modules[_parent], _leaf, _mod)\n"
        "    exec(compile(_text, _mod.__file__, 'exec'), _mod.__dict__)\n"
        "del _cwd, _pkg, _name, _text, _mod, _parent, _leaf\n"
        "sys.modules['grader.sandbox.worker'].main(sys.argv[1:])\n"
    )
    if len(source.encode("utf-8")) > MAX_CMDLINE_ARG:
        raise SandboxError("the worker's source is too long to pass on the command line")
    return source


def spawn(python, limits, account, support, source):
    """Start a worker for the submission ``source`` (bytes); returns its WorkerProcess."""
    private_dir = isolation.private_dir(account, source, support.landlock_abi > 0)
    ends = []
    try:
        request_read, request_write = os.pipe()
        ends += [request_read, request_write]
        reply_read, reply_write = os.pipe()
        ends += [reply_read, reply_write]
    except OSError as exc:
        for fd in ends:
            os.close(fd)
        cleanup.remove_tree(private_dir)
        raise SandboxError(f"cannot create pipes for the sandbox worker: {exc}") from None
    plan = isolation.make_plan(limits, account, support, source)
    argv = [
        # -B: -I ignores PYTHONDONTWRITEBYTECODE, and no __pycache__ should appear in the
        # submission's directory.
        python, "-I", "-B", "-u", "-c", worker_source(),
        str(request_read), str(reply_write),
        paths.SUBMISSION_FILENAME, paths.CLASS_NAME, json.dumps(PARAM_NAMES),
        str(limits.reply_bytes), json.dumps(plan),
    ]  # fmt: skip
    try:
        proc = subprocess.Popen(
            argv,
            cwd=private_dir,  # holds only the copy of the submission
            env=isolation.environment(private_dir),  # nothing of ours is inherited
            start_new_session=True,  # pgid = sid = pid: one killpg gets everything
            pass_fds=(request_read, reply_write),  # close_fds: no other fd of ours leaks
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,  # captured apart from the reply channel
            stderr=subprocess.PIPE,
            umask=0o077,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        os.close(request_write)
        os.close(reply_read)
        cleanup.remove_tree(private_dir)
        raise SandboxError(f"cannot start the sandbox worker {python}: {exc}") from None
    finally:
        # The worker's ends: only the worker may hold them, so that its death shows up
        # here as end-of-file on the reply pipe (and EPIPE on the request pipe).
        os.close(request_read)
        os.close(reply_write)
    return WorkerProcess(proc, private_dir, request_write, reply_read, limits.reply_bytes)


class WorkerProcess:
    """One worker process and the grader's ends of its pipes."""

    def __init__(self, proc, private_dir, request_fd, reply_fd, reply_bytes):
        self.proc = proc
        self.pid = proc.pid
        self.private_dir = private_dir
        self.request_fd = request_fd
        self.reply_fd = reply_fd
        self.reply_bytes = reply_bytes
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
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    def kill(self):
        """SIGKILL the worker's process group (and any stray session member), reap it, close
        its pipes and remove its private directory. Never raises.

        The group is killed before the leader is reaped: until then its pid cannot be
        reused, so the signal cannot hit an unrelated process group.
        """
        if self.proc.returncode is None:
            for kill in (lambda: os.killpg(self.pid, signal.SIGKILL), self._kill_session):
                try:
                    kill()
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - unkillable (D state)
                cleanup.log(f"worker {self.pid} did not die within 10 s")
        for fd in (self.request_fd, self.reply_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.request_fd = self.reply_fd = -1
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        if self.private_dir:
            cleanup.remove_tree(self.private_dir)
            self.private_dir = None

    def _kill_session(self):
        for pid in cleanup.session_members(self.pid):  # belt and braces; see RLIMIT_NPROC
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    # -- I/O ------------------------------------------------------------------------------

    def is_clean(self, capture):
        """True if an idle worker is alive and has sent nothing since its last reply.

        Anything on the reply pipe between calls came from the submission (a signal handler,
        say), not from our worker code: that worker is replaced.
        """
        self.drain_output(capture)
        if self.frames or self.reader.pending or self.reply_eof:
            return False
        try:
            os.read(self.reply_fd, CHUNK)
        except BlockingIOError:  # nothing there: the expected state
            return self.exit_status() is None
        except OSError:
            pass
        return False  # stray bytes, or end of file (it died between calls)

    def drain_output(self, capture):
        """Read what stdout/stderr hold right now (at most 4 MiB each), without waiting.

        Bounded, because a worker could keep refilling a pipe as fast as we empty it.
        """
        for fd in list(self.output_fds):
            for _ in range(64):
                try:
                    chunk = os.read(fd, CHUNK)
                except BlockingIOError:
                    break
                except OSError:
                    chunk = b""
                if not chunk:
                    self.output_fds.remove(fd)
                    break
                capture.feed(chunk)

    def exchange(self, capture, deadline, payload=b"", call_id=None, stages=(), renew=None):
        """Send ``payload`` and pump the pipes until one frame other than "progress" arrives.

        ``renew`` = (seconds, limit): each progress frame (a new piece of student code
        starting) moves the deadline to ``seconds`` from now, never past ``limit``, so a call
        that runs many methods (em_run) gives each of them the time of one call.
        Returns ("frame", header, arrays), ("timeout", None, None) when ``deadline`` passes,
        or ("dead", None, None) when the reply pipe reaches end of file (the worker exited or
        closed it). Raises ProtocolError for bad bytes, an oversized reply or a progress
        frame naming another call or a stage outside ``stages``. The request is written
        non-blockingly too: a worker that stops reading cannot block the grader.
        """
        pending = memoryview(payload)
        selector = selectors.DefaultSelector()
        try:
            selector.register(self.reply_fd, selectors.EVENT_READ, "reply")
            for fd in self.output_fds:
                selector.register(fd, selectors.EVENT_READ, "output")
            if pending:
                selector.register(self.request_fd, selectors.EVENT_WRITE, "request")
            while True:
                while self.frames:
                    header, arrays = self.frames.pop(0)
                    if header.get("type") != "progress" or call_id is None:
                        return "frame", header, arrays
                    if header.get("id") != call_id or header.get("stage") not in stages:
                        raise ProtocolError("bad progress frame")
                    self.stage = header["stage"]
                    if renew is not None:
                        deadline = min(time.monotonic() + renew[0], renew[1])
                if self.reply_eof:
                    return "dead", None, None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout", None, None
                for key, _ in selector.select(remaining):
                    if key.data == "request":
                        try:
                            pending = pending[os.write(key.fd, pending[:CHUNK]) :]
                        except BlockingIOError:
                            continue
                        except OSError:  # EPIPE: it died; the reply pipe will say so
                            pending = pending[:0]
                        if not pending:
                            selector.unregister(key.fd)
                    else:
                        self._read(selector, key, capture)
        finally:
            selector.close()

    def _read(self, selector, key, capture):
        try:
            chunk = os.read(key.fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if key.data == "output":
            if chunk:
                capture.feed(chunk)
            else:
                selector.unregister(key.fd)
                self.output_fds.remove(key.fd)
        elif not chunk:
            selector.unregister(key.fd)
            self.reply_eof = True
        else:
            self.received += len(chunk)
            if self.received > self.reply_bytes:
                raise ProtocolError("reply too large")
            self.frames.extend(self.reader.feed(chunk))

    def death(self, capture, cpu_seconds):
        """Why a worker whose reply pipe closed is gone: (student-facing message, values).

        Waits up to DEATH_GRACE for it to exit on its own (collecting its last output); the
        caller then stops it (one still running after closing its reply pipe is killed).
        """
        grace = time.monotonic() + DEATH_GRACE
        status = self.exit_status()
        while status is None and time.monotonic() < grace:
            self.drain_output(capture)
            time.sleep(0.005)
            status = self.exit_status()
        self.drain_output(capture)
        if status is None:
            return "the process running your code stopped answering (it closed its channel)", {}
        if status >= 0:
            message = f"the process running your code exited (exit code {status})"
            return message, {"exit_code": status}
        number = -status
        hints = {
            signal.SIGKILL: "memory limit?",
            signal.SIGXCPU: f"CPU time limit of {cpu_seconds} s",
            signal.SIGSEGV: "segmentation fault",
            signal.SIGABRT: "aborted",
            signal.SIGBUS: "bus error",
        }
        hint = hints.get(number)
        detail = f"signal {number}; {hint}" if hint else f"signal {number}"
        return f"the process running your code was killed ({detail})", {"signal": number}
