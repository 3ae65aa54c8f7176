"""How the batch runs one grading: in a long-lived slot process (:class:`SlotRunner`, the
default; grader/batch/slot.py is the other end) or in a fresh process per file
(:class:`ProcessRunner`, given a command line: the tests' stand-in graders, and the bench's
comparison with the single-grade command).

Either way a grading ends in one of three ways, as a :class:`Ended`: the grader's exit code;
a time-out (the per-upload wall limit), after which the process, its group and its sandbox
workers are killed; or, for a slot, a crash (it died or closed its pipe without answering),
after which the slot is replaced and the driver may retry the upload once.

Every process here starts in a session of its own, so an upload signalling its process group
reaches only its own grading, and a kill takes the whole group; the sandbox workers run in
sessions of their own under uids derived from the grading process's pid, found and killed by
``kill_workers_of`` (root only).
"""

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from grader import paths
from grader.sandbox.cleanup import kill_workers_of

_running: set[subprocess.Popen] = set()  # every process in flight, so Ctrl-C can kill them
_running_lock = threading.Lock()


@dataclass(frozen=True)
class Ended:
    code: int | None = None  # the grader's exit status, None when it did not finish
    timed_out: bool = False
    crashed: bool = False  # a slot died without answering (the upload may be retried)
    detail: str = ""


def slot_command() -> list[str]:
    return [sys.executable, "-m", "grader.batch.slot"]


class Interrupted(Exception):
    """The batch is stopping (Ctrl-C): no new grading process may start."""


def _start(cmd, stop=None, **kwargs) -> subprocess.Popen:
    if stop is not None and stop.is_set():
        raise Interrupted("the batch was interrupted")
    proc = subprocess.Popen(cmd, cwd=paths.PROJECT_ROOT, start_new_session=True, **kwargs)
    with _running_lock:
        _running.add(proc)
    return proc


def _kill(proc: subprocess.Popen) -> None:
    """Kill a grading process, its process group and its sandbox workers, and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except OSError:
        pass
    proc.wait()
    kill_workers_of(proc.pid)
    with _running_lock:
        _running.discard(proc)


def kill_running() -> None:
    with _running_lock:
        procs = list(_running)
    for proc in procs:
        _kill(proc)


class ProcessRunner:
    """One process per grading: ``command(submission, results, note)`` is its command line."""

    def __init__(self, command, stop=None):
        self.command, self.stop = command, stop  # stop: a threading.Event set on Ctrl-C

    def grade(self, submission: Path, results: Path, note: str, log: Path, timeout: float):
        with os.fdopen(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            proc = _start(
                self.command(submission, results, note),
                self.stop,
                stdin=subprocess.DEVNULL,
                stdout=f,  # a file: a stray grandchild holding a pipe open cannot hang us
                stderr=subprocess.STDOUT,
            )
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill(proc)
                return Ended(timed_out=True)
            finally:
                if proc.poll() is None:  # interrupted (Ctrl-C): leave no grader behind
                    _kill(proc)
            _kill(proc)  # it has exited: anything it left running in its group goes too
            return Ended(code)

    def close(self) -> None:
        pass


class SlotRunner:
    """A long-lived grading process fed one upload at a time (grader/batch/slot.py).

    ``args(submission, results, note)`` gives the single-grade command's arguments; ``cmd``
    starts a slot (tests pass a stand-in). A slot is started on first use and again after
    one was killed (time-out) or died (crash).
    """

    def __init__(self, args, cmd=None, slot_log: Path | None = None, stop=None):
        self.args, self.cmd, self.stop = args, cmd or slot_command(), stop
        self.slot_log = slot_log
        self.proc: subprocess.Popen | None = None
        self.started = 0  # how many slot processes this runner has started

    def _ensure(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        read_fd, write_fd = os.pipe()
        log = open(self.slot_log or os.devnull, "ab")  # the slot's own output between uploads
        try:
            self.proc = _start(
                self.cmd + ["--reply-fd", str(write_fd)],
                self.stop,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
            log.close()
        self.replies = read_fd
        self.buffer = b""
        self.started += 1

    def _drop(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            _kill(self.proc)
            os.close(self.replies)
            self.proc = None

    def grade(self, submission: Path, results: Path, note: str, log: Path, timeout: float):
        self._ensure()
        request = {"argv": self.args(submission, results, note), "log": str(log)}
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:  # BrokenPipeError: it died between two uploads
            return self._crashed(log)
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self._drop()  # hung: killed on the per-upload wall limit, replaced next time
                return Ended(timed_out=True)
            ready, _, _ = select.select([self.replies], [], [], left)
            if ready:
                chunk = os.read(self.replies, 4096)
                if not chunk:
                    return self._crashed(log)
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            code = json.loads(line)["exit"]
        except (ValueError, KeyError, TypeError):
            return self._crashed(log)
        return Ended(int(code))

    def _crashed(self, log: Path) -> Ended:
        """The slot died: reap it, and add what it printed outside any grading (a failed
        start-up, say) to this upload's log, where the failure record's tail comes from."""
        status = self.proc.poll() if self.proc is not None else None
        if status is None and self.proc is not None:
            try:
                status = self.proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        self._drop()
        if self.slot_log is not None:
            try:
                tail = self.slot_log.read_bytes()[-1000:]
                with open(log, "ab") as f:
                    f.write(b"\n[the grading process's own output]\n" + tail)
            except OSError:
                pass
        how = f"exit status {status}" if status is not None else "no answer"
        return Ended(crashed=True, detail=f"the grading process died ({how})")

    def close(self) -> None:
        """End the slot: EOF on its stdin, a moment to exit, then the kill and the sweep of
        its sandbox uids (once per slot, not per upload)."""
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._drop()
