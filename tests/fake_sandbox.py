"""An in-process stand-in for grader.sandbox.Sandbox, for unit-testing the checks.

It runs TRUSTED test implementations (classes defined in the tests) directly, with the same
call semantics as the real worker (construct + set parameters in the constructor's style +
call; arrays come back as float64), so a check's logic can be tested fast and in isolation.
The real sandbox is tested on its own (tests/test_sandbox.py) and end to end with submission
files (tests/test_submissions.py).
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FakeReply:
    kind: str = "ok"
    error: str = ""
    output: str = ""
    elapsed: float = 0.0
    values: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)

    @property
    def ok(self):
        return self.kind == "ok"


def _styled(template, values):
    from grader.sandbox.worker import styled

    if isinstance(template, (list, tuple)):
        return styled(template, values, len(values))
    if isinstance(template, np.ndarray) and template.size == len(values):
        return np.array(values, dtype=float).reshape(template.shape)
    return np.array(values, dtype=float).reshape(-1, 1)


def _params(model):
    return {
        name: np.asarray(getattr(model, name), dtype=float).ravel()
        for name in ("priors", "mus", "variances")
    }


class FakeSandbox:
    def __init__(self, cls):
        self.cls = cls
        self.calls = []

    def _model(self, k, params):
        model = self.cls(k)
        for name, values in params.items():
            setattr(model, name, _styled(getattr(model, name), values))
        return model

    def _call(self, fn):
        try:
            return fn()
        except Exception as exc:  # trusted test code; mirrors the worker's report
            return FakeReply(kind="exception", error=f"{type(exc).__name__}: {exc}")

    def construct(self, k):
        def go():
            model = self.cls(k)
            return FakeReply(
                values={"num_gaussians": model.num_gaussians, "param_types": {}},
                arrays=_params(model),
            )

        return self._call(go)

    def estep(self, k, params, X):
        self.calls.append("estep")

        def go():
            model, x = self._model(k, params), X.copy()
            result = model.estep(x)
            rtype = "numpy.ndarray" if type(result) is np.ndarray else type(result).__name__
            arrays = {"X_after": x, **_params(model)}
            if result is not None:
                arrays["result"] = np.array(result, dtype=float)
            return FakeReply(values={"result_type": rtype}, arrays=arrays)

        return self._call(go)

    def mstep(self, k, params, X, gammas):
        self.calls.append("mstep")

        def go():
            model, x, g = self._model(k, params), X.copy(), gammas.copy()
            ret = model.mstep(x, g)
            return FakeReply(
                values={"returned_type": type(ret).__name__},
                arrays={"X_after": x, "gammas_after": g, **_params(model)},
            )

        return self._call(go)

    def em_step(self, k, params, X):
        def go():
            model, x = self._model(k, params), X.copy()
            g = model.estep(x)
            model.mstep(x, g)
            return FakeReply(arrays={"gammas": np.array(g, dtype=float), **_params(model)})

        return self._call(go)
