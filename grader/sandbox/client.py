"""The grader's side of the sandbox: a :class:`Sandbox` runs GMM1D methods of one
submission in worker processes and keeps the time budget.

Each call (construct, estep, mstep, em_run) is sent to a live worker, or to a fresh one
started for it (grader/sandbox/process.py), confined before it imports the submission
(grader/sandbox/isolation.py, confine.py). Every reply is validated (schema.py) before the
grader sees it. Time: a per-call wall-clock timeout, a start-up timeout and an overall
budget; a method that timed out is not run again (later calls are "skipped" at once), and
a fresh worker serves the next call, so a hanging estep does not cost the mstep checks. A
worker that crashed, hung, sent something unreadable or wrote to its reply pipe between
calls is killed and replaced.
"""

import pathlib
import sys
import time

import numpy as np

from grader import paths
from grader.cases import PARAM_NAMES
from grader.sandbox import cleanup, isolation, process
from grader.sandbox.limits import Limits
from grader.sandbox.process import OutputCapture
from grader.sandbox.protocol import ProtocolError, encode_frame
from grader.sandbox.schema import (
    STAGES_OF_OP,
    Reply,
    SandboxError,
    check_reply,
    loaded_message,
)
from grader.text import one_line, printable

DEFAULT_LIMITS = Limits()
_PARAMS_TEXT = ", ".join(PARAM_NAMES[:-1]) + " and " + PARAM_NAMES[-1]  # priors, mus and ...


class Sandbox:
    """Runs GMM1D methods of one submission in worker processes; see the module docstring.

    ``python`` (an addition for tests and deployments) is the interpreter for the worker;
    it defaults to ``sys.executable`` and must have numpy. Reads the submission once, here.
    """

    def __init__(self, submission: pathlib.Path, limits: Limits = DEFAULT_LIMITS, *, python=None):
        self.limits = limits
        self._source = pathlib.Path(submission).read_bytes()
        self._python = python or sys.executable
        self._account = isolation.sandbox_account()
        self.support = isolation.kernel_support()
        self.confinement = None  # the last worker's layers, checked (isolation.Confinement)
        self._worker = None
        self._pids = []  # every worker started
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
        """Kill everything the submission started and remove its private directory;
        idempotent, and never raises (cleanup logs what it could not do).

        As root, also remove every SysV IPC object of the worker's uid (detached shared
        memory outlives a process and is not counted by RLIMIT_AS) and, when Landlock could
        not confine its writes, everything that uid owns in the world-writable places: it
        would outlive the grading and could carry data to a later one."""
        self._closed = True
        self._stop_worker()
        if self._account is None:  # as you: only what these workers made can be told apart
            cleanup.remove_ipc_of(creators=self._pids)
        else:
            confined = self.confinement is not None and "files" in self.confinement.landlock
            cleanup.sweep_uids(range(self._account.uid, self._account.uid + 1), not confined)

    @property
    def source(self) -> bytes:
        """The submission's bytes, exactly as every worker gets them."""
        return self._source

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

    def em_run(self, k: int, params: dict, X: np.ndarray, iterations: int) -> Reply:
        """``iterations`` of the student's estep then mstep on one model (worker.em_run):
        arrays priors, mus, variances of shape (iterations done, k); values say how far it
        got, how it stored the parameters and, if it stopped early, where and why."""
        return self._call("em_run", k, params, {"X": X}, {"iterations": int(iterations)})

    # -- one call -----------------------------------------------------------------------------

    def _label(self, stage, k):
        return {
            "construct": f"{paths.CLASS_NAME}({k})",
            "set_params": f"setting {_PARAMS_TEXT} on {paths.CLASS_NAME}({k})",
        }.get(stage, stage)

    def _call(self, op, k, params, data, options=None):
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
            reply = self._run(op, k, request, capture, started, options or {})
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

    def _run(self, op, k, request, capture, started, options):
        worker, reply = self._ready_worker(capture, started)
        if reply is not None:
            return reply
        call_id = self._next_id
        self._next_id += 1
        payload = encode_frame(
            {"type": "call", "id": call_id, "op": op, "k": k, **options}, request
        )
        # What an honest reply can hold: the arrays sent, an (n, k) result, the parameters.
        # More is refused undecoded (TooLarge), so a reply cannot grow 8x in this process.
        n = request["X"].size if "X" in request else 0
        sent = sum(array.size for array in request.values())
        iterations = options.get("iterations", 64)
        worker.reader.max_elements = 4 * (sent + n * k) + 3 * k * iterations + 4096
        budget_left = self._budget_left(started)
        timeout = min(self.limits.call_timeout, budget_left)
        deadline = time.monotonic() + timeout
        # em_run runs many methods: each gets a call's time, all within the budget.
        renew = None
        if op == "em_run":
            renew = (self.limits.call_timeout, time.monotonic() + budget_left)
        worker.received = 0
        worker.stage = None
        try:
            status, header, arrays = worker.exchange(
                capture, deadline, payload, call_id, STAGES_OF_OP[op], renew
            )
            if status == "frame":
                if header.get("type") != "reply":
                    raise ProtocolError("unexpected frame")
                kind, error, values, arrays = check_reply(op, call_id, header, arrays)
                worker.drain_output(capture)
                if worker.frames or worker.reader.pending:
                    raise ProtocolError("data after the reply")
                return Reply(kind, error, values=values, arrays=arrays)
        except ProtocolError as exc:
            self._stop_worker()
            return Reply(
                "protocol",
                "your code's process sent back something unreadable",
                values={"detail": one_line(exc)},
            )
        if status == "timeout":
            # No progress frame means our worker never started the call: the submission
            # sabotaged it (or the machine stalled). Nothing to blame a method for.
            stage = worker.stage
            label = self._label(stage, k) if stage else "your code's process"
            self._stop_worker()
            if timeout < self.limits.call_timeout or self._budget_left(started) <= 0:
                return Reply("timeout", f"{label} was stopped: {self._budget_message()}")
            if stage is None:
                return Reply(
                    "timeout", f"{label} did not answer within {self.limits.call_timeout:g} s"
                )
            self._hung[stage] = label
            return Reply("timeout", f"{label} did not return within {self.limits.call_timeout:g} s")
        # status == "dead"
        message, values = worker.death(capture, self.limits.cpu_seconds)
        self._stop_worker()
        return Reply("crash", message, values=values)

    # -- worker life cycle --------------------------------------------------------------------

    def _stop_worker(self):
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()

    def _ready_worker(self, capture, started):
        """(live worker that imported the submission, None) or (None, reply to return)."""
        worker = self._worker
        if worker is not None and not worker.is_clean(capture):
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
            status, header, _ = worker.exchange(capture, deadline)
        except ProtocolError as exc:
            self._stop_worker()
            raise SandboxError(f"the sandbox worker sent a bad first frame ({exc})") from None
        if status != "frame" or header.get("type") != "ready":
            if status == "timeout" and timeout < self.limits.startup_timeout:
                self._stop_worker()
                return None, budget_stop
            raise self._startup_failure(worker, capture, status)
        self._check_confinement(worker, header)
        try:
            status, header, _ = worker.exchange(capture, deadline)
            if status == "frame":
                message = loaded_message(header)
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
            death, _ = worker.death(capture, self.limits.cpu_seconds)
            self._load_error = f"importing {paths.SUBMISSION_FILENAME} failed: {death}"
        self._stop_worker()
        return None, Reply("load_error", self._load_error)

    def _spawn(self):
        worker = process.spawn(self._python, self.limits, self._account, self.support, self._source)
        self._pids.append(worker.pid)
        return worker

    def _check_confinement(self, worker, ready):
        """Refuse a worker less confined than this machine allows (before it imports)."""
        try:
            if "error" in ready:
                # Sent before the submission was imported: ours, so its paths are kept for
                # the instructor's log (students are never shown a SandboxError's text).
                error = printable(ready["error"])[:1000] if type(ready["error"]) is str else "?"
                raise SandboxError(f"the sandbox worker could not confine itself: {error}")
            self.confinement = isolation.check_confinement(
                ready.get("confinement"), worker.pid, self._account, self.support
            )
        except SandboxError:
            self._stop_worker()
            raise

    def _startup_failure(self, worker, capture, status):
        if status == "timeout":
            reason = f"it did not start within {self.limits.startup_timeout:g} s"
        elif status == "dead":
            reason, _ = worker.death(capture, self.limits.cpu_seconds)
        else:
            reason = "it sent an unexpected first frame"
        self._stop_worker()
        lines = capture.kept.decode("utf-8", errors="replace").strip().splitlines()
        tail = f" Its last output: {lines[-1][:300]}" if lines else ""
        who = self._account.name if self._account else "the current user"
        return SandboxError(
            f"the sandbox worker could not start: {reason}.{tail} "
            f"Interpreter {self._python}, run as {who}."
        )
