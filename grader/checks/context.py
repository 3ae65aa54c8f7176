"""What a check works with: the sandbox (student code, in the worker) and the trusted
reference (``solution/gmm1d.py``, loaded in this process).

Every sandbox call goes through :class:`Context`, so the student's printed output is
attributed to the check that caused it. Checks never see student objects, only ``Reply``
records holding validated float arrays and short strings (grader/sandbox/schema.py).
"""

import importlib.util

import numpy as np

from grader import cases, paths, secret
from grader.cases import Params


def load_reference(path=paths.SOLUTION_PATH):
    """Import the reference solution (trusted code) as module ``gmm1d_reference``."""
    spec = importlib.util.spec_from_file_location("gmm1d_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Context:
    """What a check works with: the sandbox, the reference, and per-grading caches.

    Every sandbox call goes through here so the student's printed output is attributed to
    the check that caused it.
    """

    def __init__(self, sandbox, reference, case_set):
        self.sandbox = sandbox
        self.reference = reference
        self.cases = case_set  # grader/cases.py CaseSet: this grading's generated inputs
        self.cache = {}
        self.outputs = []
        self.unwritten = set()  # methods that raised NotImplementedError during this check

    @classmethod
    def for_grading(cls, sandbox, reference, course_secret):
        """The context of one grading: generated inputs keyed to ``course_secret`` (a
        secret.CourseSecret) and the very bytes the sandbox runs (``sandbox.source``)."""
        key = secret.grading_key(course_secret, sandbox.source)
        return cls(sandbox, reference, cases.CaseSet(key))

    # -- sandbox calls (student code, in the worker process)
    def _record(self, reply, method=None):
        if reply.output:
            self.outputs.append(reply.output)
        self.note_unwritten(reply, method)
        return reply

    def note_unwritten(self, reply, method=None):
        """Note ``method`` (or, for em_run, the step that raised) if the call raised
        NotImplementedError: the starter's placeholder, still in place. A check that reuses
        an earlier call's reply calls this itself."""
        failure = reply.values.get("failure") if method is None else None
        if isinstance(failure, dict):  # em_run: the step that raised, and what it raised
            method, error = failure.get("stage"), str(failure.get("error", ""))
        else:
            error = reply.error if reply.kind == "exception" else ""
        if method in ("estep", "mstep") and error.startswith("NotImplementedError"):
            self.unwritten.add(method)

    def construct(self, k):
        return self._record(self.sandbox.construct(k))

    def estep(self, params: Params, X):
        return self._record(self.sandbox.estep(params.k, params.as_dict(), X), "estep")

    def mstep(self, params: Params, X, gammas):
        return self._record(self.sandbox.mstep(params.k, params.as_dict(), X, gammas), "mstep")

    def em_run(self, params: Params, X, iterations):
        return self._record(self.sandbox.em_run(params.k, params.as_dict(), X, iterations))

    def take_output(self) -> str:
        text = "".join(self.outputs)
        self.outputs = []
        return text

    def take_unwritten(self) -> tuple:
        """The methods that raised NotImplementedError since the last call, sorted."""
        methods, self.unwritten = tuple(sorted(self.unwritten)), set()
        return methods

    # -- reference (trusted, in this process)
    def _model(self, params: Params):
        # Skip __init__: its random start would be overwritten anyway, and drawing it costs
        # more than the E-step on these small inputs.
        model = self.reference.GMM1D.__new__(self.reference.GMM1D)
        model.num_gaussians = params.k
        model.priors, model.mus, model.variances = (
            cases.column(v) for v in (params.priors, params.mus, params.variances)
        )
        return model

    def ref_estep(self, params: Params, X) -> np.ndarray:
        return self._model(params).estep(X)

    def ref_mstep(self, params: Params, X, gammas) -> Params:
        model = self._model(params)
        model.mstep(X, gammas)
        return Params.of(model.priors, model.mus, model.variances)

    def ref_loglik(self, params: Params, X) -> float:
        with np.errstate(all="ignore"):
            return self._model(params).log_likelihood(X)
