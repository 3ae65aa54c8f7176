"""An in-process stand-in for grader.sandbox.Sandbox, for testing the checks fast.

It serves every call with the real worker's own code (``grader.sandbox.worker.Worker.serve``:
the same construction, parameters set in the student's style, em_run on one model, the
same readings of the results) and the real reply validation (``schema.check_reply``), in
this process: no subprocess, no confinement, no timeouts. So it runs only TRUSTED code: the
test classes of tests/test_checks.py and the correct and buggy fixtures of
tests/submissions/. The real sandbox is tested on its own (tests/test_sandbox_*.py) and end
to end with every fixture (tests/test_submissions.py).
"""

import contextlib
import io
import itertools
from pathlib import Path

import numpy as np

from grader import cases, paths
from grader.sandbox import schema, worker
from grader.sandbox.client import Sandbox


@contextlib.contextmanager
def _nan_empty():
    """The real worker's NaN-filled ``np.empty`` (worker.uninitialised_reads_as_nan), for the
    length of one call only: this process's numpy is the test suite's."""
    saved = np.empty, np.empty_like
    worker.uninitialised_reads_as_nan()
    try:
        yield
    finally:
        np.empty, np.empty_like = saved


class _InProcessWorker(worker.Worker):
    def __init__(self, cls):
        super().__init__(None, None, "gmm1d.py", paths.CLASS_NAME, cases.PARAM_NAMES, 32 << 20)
        self.cls = cls

    def send(self, header, arrays=None):  # progress frames: nobody is waiting for them
        pass


class FakeSandbox:
    def __init__(self, cls, source=None):
        self.worker = _InProcessWorker(cls)
        # What keys the generated inputs (grader/secret.py), as the real sandbox's file bytes.
        default = f"{cls.__module__}.{cls.__qualname__}".encode()
        self.source = source if source is not None else default
        self.calls = []
        self._ids = itertools.count(1)

    @classmethod
    def from_file(cls, path):
        """A fake sandbox for a submission file (trusted: it runs in this process)."""
        found, loaded = worker.load_submission(str(path), paths.CLASS_NAME)
        if found is None:
            raise ValueError(f"{path}: {loaded}")
        return cls(found, source=Path(path).read_bytes())

    def _call(self, op, k, params, data, options=None):
        self.calls.append(op)
        arrays = Sandbox._request_arrays(op, k, params, data)
        call_id = next(self._ids)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed), _nan_empty():
            header, out = self.worker.serve(
                {"op": op, "k": k, "id": call_id, **(options or {})}, arrays
            )
        header.update(type="reply", id=call_id)
        out = {name: np.array(array, dtype=np.float64, order="C") for name, array in out.items()}
        kind, error, values, out = schema.check_reply(op, call_id, header, out)
        return schema.Reply(kind, error, output=printed.getvalue(), values=values, arrays=out)

    def construct(self, k):
        return self._call("construct", k, {}, {})

    def estep(self, k, params, X):
        return self._call("estep", k, params, {"X": X})

    def mstep(self, k, params, X, gammas):
        return self._call("mstep", k, params, {"X": X, "gammas": gammas})

    def em_run(self, k, params, X, iterations):
        return self._call("em_run", k, params, {"X": X}, {"iterations": int(iterations)})
