"""The checks: each feeds the submission fixed inputs through the sandbox and judges what
comes back against the trusted reference (``solution/gmm1d.py``, loaded in this process).

A check is a function ``check_<id>(ctx) -> Outcome``. It never sees student objects: only
``Reply`` records holding validated float arrays and short strings (see grader/sandbox.py).
Feedback says what was expected, what came back, where (worst row, iteration), and names a
common mistake when the answer reproduces one (grader/diagnosis.py).

Tolerances: values must agree to ``ATOL`` + ``RTOL``·|expected|. Inputs keep every point's
mixture density >= 1e-6 (grader/cases.py), so correct code that adds EPSILON = 1e-12 to its
denominators is off by at most 1e-6 relative and always passes.
"""

import importlib.util
from dataclasses import dataclass, field

import numpy as np

from grader import cases, diagnosis, paths
from grader.cases import Params

ATOL = 1e-6
RTOL = 1e-5
PMF_TOL = 1e-6  # row sums and the [0, 1] range
LL_MATCH_RTOL = 1e-6  # EM trajectory vs the reference, relative to max(1, |ll|)
LL_DROP_RTOL = 1e-9  # a fall larger than this (relative to max(1, |ll|)) is a decrease
K_RANGE = range(1, 7)

TITLES = {
    "loads": "Submission loads: gmm1d.py imports and GMM1D(k) builds k-element parameters",
    "estep_shape": "E-step returns an ndarray of shape (n, k)",
    "estep_pmf": "E-step rows are probability distributions",
    "estep_example": "E-step matches the worked example",
    "estep_values": "E-step values match the reference (unequal priors and variances, k = 1..6)",
    "estep_pure": "E-step has no side effects",
    "mstep_priors": "M-step priors",
    "mstep_means": "M-step means",
    "mstep_variances": "M-step variances",
    "mstep_inputs": "M-step uses the gammas it is given and leaves its inputs unchanged",
    "em_monotone": "Full EM: the log-likelihood never decreases and follows the reference",
}


@dataclass
class Outcome:
    passed: bool
    feedback: str
    mistakes: list = field(default_factory=list)
    output: str = ""  # what the student's code printed during this check
    internal_error: bool = False


class Fail(Exception):
    """Raised inside a check to fail it with feedback (and diagnosed mistakes)."""

    def __init__(self, feedback, mistakes=()):
        super().__init__(feedback)
        self.feedback = feedback
        self.mistakes = list(dict.fromkeys(mistakes))


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

    def __init__(self, sandbox, reference):
        self.sandbox = sandbox
        self.reference = reference
        self.cache = {}
        self.outputs = []

    # -- sandbox calls (student code, in the worker process)
    def _record(self, reply):
        if reply.output:
            self.outputs.append(reply.output)
        return reply

    def construct(self, k):
        return self._record(self.sandbox.construct(k))

    def estep(self, params: Params, X):
        return self._record(self.sandbox.estep(params.k, params.as_dict(), X))

    def mstep(self, params: Params, X, gammas):
        return self._record(self.sandbox.mstep(params.k, params.as_dict(), X, gammas))

    def em_step(self, params: Params, X):
        return self._record(self.sandbox.em_step(params.k, params.as_dict(), X))

    def take_output(self) -> str:
        text = "".join(self.outputs)
        self.outputs = []
        return text

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


# ---------------------------------------------------------------- helpers


def _fmt(values, digits=5) -> str:
    arr = np.asarray(values, dtype=float).ravel()
    shown = ", ".join(f"{v:.{digits}g}" for v in arr[:8])
    return f"[{shown}{', ...' if arr.size > 8 else ''}]"


_SANDBOX_REFUSALS = ("can't start new thread", "Resource temporarily unavailable")


def _need(reply, what):
    """Fail the check unless the call ran and returned."""
    if not reply.ok:
        hint = ""
        if any(text in reply.error for text in _SANDBOX_REFUSALS):
            hint = "\n(The grader runs your code with no threads or subprocesses: compute in the main thread.)"
        raise Fail(f"{what}: {reply.error}{hint}")
    return reply


def _params_after(reply, k, what) -> Params:
    """The model's parameters after a call, each required to hold exactly k numbers."""
    values = {}
    for name in ("priors", "mus", "variances"):
        arr = reply.arrays.get(name)
        if arr is None:
            why = reply.values.get("param_errors", {}).get(name, "missing or not numeric")
            raise Fail(f"{what}: self.{name} could not be read as numbers ({why})")
        if arr.size != k:
            mistakes = ["two_clusters_hardcoded"] if arr.size == 2 and k != 2 else []
            raise Fail(
                f"{what}: self.{name} holds {arr.size} numbers, expected {k} (one per cluster)",
                mistakes,
            )
        values[name] = arr.ravel()
    return Params(**values)


def _result(reply, n, k, what) -> np.ndarray:
    """The E-step's returned array; fails unless it has shape (n, k)."""
    got = reply.arrays.get("result")
    if got is None:
        raise Fail(
            f"{what}: estep returned {reply.values.get('result_type', 'something')}, not an array of numbers"
        )
    if got.shape != (n, k):
        mistakes = []
        if got.shape == (k, n) and k != n:
            mistakes.append("transposed")
        if k != 2 and got.ndim == 2 and got.shape[1] == 2:
            mistakes.append("two_clusters_hardcoded")
        raise Fail(
            f"{what}: estep returned shape {got.shape}, expected (n, k) = ({n}, {k})", mistakes
        )
    return got


def _worst_row_message(got, expected, X, what):
    err = np.abs(got - expected)
    err[~np.isfinite(err)] = np.inf
    row = int(np.argmax(err.max(axis=1)))
    return (
        f"{what}: row {row} (x = {float(X[row, 0]):.6g}) expected {_fmt(expected[row])}, "
        f"got {_fmt(got[row])} (largest error {float(err.max()):.3g})"
    )


def _close(got, expected) -> bool:
    return bool(np.all(np.isfinite(got))) and bool(np.allclose(got, expected, atol=ATOL, rtol=RTOL))


def _compare_estep(ctx, case, got, expected):
    if _close(got, expected):
        return
    p = case.params
    raise Fail(
        _worst_row_message(got, expected, case.X, case.name),
        diagnosis.diagnose_estep(got, case.X, p.priors, p.mus, p.variances),
    )


def _over_cases(case_list, judge, k_of=lambda case: case.params.k):
    """Judge every case; fail with the first problem, how many cases failed, and the union
    of diagnosed mistakes. Failing exactly the cases with k != 2 means hard-coded clusters."""
    failures = []
    for case in case_list:
        try:
            judge(case)
        except Fail as exc:
            failures.append((case, exc))
    if not failures:
        return
    mistakes = [m for _, exc in failures for m in exc.mistakes]
    failed_k = {k_of(case) for case, _ in failures}
    all_k = {k_of(case) for case in case_list}
    if 2 in all_k and 2 not in failed_k and failed_k == all_k - {2}:
        mistakes.append("two_clusters_hardcoded")
    feedback = failures[0][1].feedback
    if len(failures) > 1:
        feedback += f"\n({len(failures)} of {len(case_list)} cases failed, for k = {', '.join(str(k) for k in sorted(failed_k))}.)"
    raise Fail(feedback, mistakes)


# ---------------------------------------------------------------- the checks


def check_loads(ctx):
    stored = ""
    for k in K_RANGE:
        what = f"GMM1D({k})"
        reply = _need(ctx.construct(k), what)
        got_k = reply.values.get("num_gaussians")
        if got_k != k:
            raise Fail(
                f"{what}.num_gaussians is {reply.values.get('num_gaussians_repr', got_k)}, expected {k}"
            )
        _params_after(reply, k, what)
        if k == 3:
            stored = ", ".join(f"{n}: {t}" for n, t in reply.values.get("param_types", {}).items())
    return f"gmm1d.py imports and GMM1D(k) builds k numbers each for priors, mus and variances, k = 1..6 (GMM1D(3) stores {stored})."


def check_estep_shape(ctx):
    def judge(case):
        n, k = case.X.shape[0], case.params.k
        reply = _need(ctx.estep(case.params, case.X), case.name)
        _result(reply, n, k, case.name)
        rtype = reply.values.get("result_type", "")
        if rtype != "numpy.ndarray" and not rtype.startswith("subclass of numpy.ndarray"):
            raise Fail(
                f"{case.name}: estep returned a {rtype}; return a numpy ndarray", ["not_ndarray"]
            )

    _over_cases(cases.shape_cases(), judge)
    return (
        "estep returns an ndarray of shape (n, k) for (n, k) = (7, 1), (40, 2), (100, 3), (25, 5)."
    )


def check_estep_pmf(ctx):
    def judge(case):
        n, k = case.X.shape[0], case.params.k
        reply = _need(ctx.estep(case.params, case.X), case.name)
        got = _result(reply, n, k, case.name)
        p = case.params
        diagnosed = diagnosis.diagnose_estep(got, case.X, p.priors, p.mus, p.variances)
        bad = ~np.isfinite(got).all(axis=1)
        if bad.any():
            row = int(np.argmax(bad))
            raise Fail(
                f"{case.name}: row {row} (x = {case.X[row, 0]:.6g}) is {_fmt(got[row])}: not finite",
                diagnosed,
            )
        out_of_range = (got < -PMF_TOL) | (got > 1 + PMF_TOL)
        if out_of_range.any():
            row = int(np.argmax(out_of_range.any(axis=1)))
            raise Fail(
                f"{case.name}: row {row} (x = {case.X[row, 0]:.6g}) is {_fmt(got[row])}: entries must lie in [0, 1]",
                diagnosed,
            )
        sums = got.sum(axis=1)
        if np.abs(sums - 1).max() > PMF_TOL:
            row = int(np.argmax(np.abs(sums - 1)))
            raise Fail(
                f"{case.name}: row {row} (x = {case.X[row, 0]:.6g}) is {_fmt(got[row])}, which sums to {sums[row]:.6g}, not 1",
                diagnosed,
            )
        if k >= 2 and np.ptp(got, axis=0).max() < 1e-6:
            raise Fail(
                f"{case.name}: every row is {_fmt(got[0])} whatever x is; a posterior depends on the point",
                diagnosed,
            )

    _over_cases(cases.pmf_cases(), judge)
    return "Every row is finite, in [0, 1] and sums to 1, for k = 1..6."


def check_estep_example(ctx):
    case = cases.WORKED_EXAMPLE
    reply = _need(ctx.estep(case.params, case.X), case.name)
    got = _result(reply, case.X.shape[0], case.params.k, case.name)
    expected = ctx.ref_estep(case.params, case.X)
    _compare_estep(ctx, case, got, expected)
    return f"P(cluster 1 | x) = {_fmt(got[:, 0])}, as expected."


def check_estep_values(ctx):
    def judge(case):
        reply = _need(ctx.estep(case.params, case.X), case.name)
        got = _result(reply, case.X.shape[0], case.params.k, case.name)
        _compare_estep(ctx, case, got, ctx.ref_estep(case.params, case.X))

    _over_cases(cases.value_cases(), judge)
    return "Posteriors match the reference for k = 1..6 with unequal priors and variances."


def check_estep_pure(ctx):
    case = cases.purity_case()
    reply = _need(ctx.estep(case.params, case.X), case.name)
    X_after = reply.arrays.get("X_after")
    if X_after is None or X_after.shape != case.X.shape or not np.array_equal(X_after, case.X):
        raise Fail(
            "estep changed its argument X (compare X before and after the call)", ["mutates_X"]
        )
    try:
        after = _params_after(reply, case.params.k, "after estep")
    except Fail as exc:
        raise Fail(exc.feedback, exc.mistakes + ["mutates_params"]) from None
    for name in ("priors", "mus", "variances"):
        before, now = getattr(case.params, name), getattr(after, name)
        if not np.array_equal(before, now):
            raise Fail(
                f"estep changed self.{name} from {_fmt(before)} to {_fmt(now)}", ["mutates_params"]
            )
    return "estep left X and the model's parameters unchanged."


def _mstep_results(ctx):
    """Run the M-step cases once and share the replies between the three M-step checks."""
    if "mstep" not in ctx.cache:
        ctx.cache["mstep"] = [
            (case, ctx.mstep(case.params, case.X, case.gammas)) for case in cases.mstep_cases()
        ]
    return ctx.cache["mstep"]


def _check_mstep_param(ctx, name, label):
    replies = dict((id(case), reply) for case, reply in _mstep_results(ctx))

    def judge(case):
        reply = _need(replies[id(case)], case.name)
        after = _params_after(reply, case.params.k, f"{case.name}, after mstep")
        got = getattr(after, name)
        expected = getattr(ctx.ref_mstep(case.params, case.X, case.gammas), name)
        if not _close(got, expected):
            recomputed = ctx.ref_estep(case.params, case.X)
            before = (case.params.priors, case.params.mus, case.params.variances)
            mutants = diagnosis.mstep_mutants(case.X, case.gammas, before, recomputed)
            raise Fail(
                f"{case.name}: expected {label} {_fmt(expected)}, got {_fmt(got)}",
                diagnosis.diagnose_mstep(name, got, mutants),
            )

    _over_cases([case for case, _ in _mstep_results(ctx)], judge)
    return f"{label.capitalize()} match the maximum-likelihood update for k = 1..6."


def check_mstep_priors(ctx):
    return _check_mstep_param(ctx, "priors", "priors")


def check_mstep_means(ctx):
    return _check_mstep_param(ctx, "mus", "means")


def check_mstep_variances(ctx):
    return _check_mstep_param(ctx, "variances", "variances")


def _raw_params(reply) -> dict:
    """The parameters after a call as they came back, whatever their size."""
    return {name: reply.arrays.get(name) for name in ("priors", "mus", "variances")}


def check_mstep_inputs(ctx):
    case = cases.mstep_cases()[2]
    first = _need(ctx.mstep(case.params, case.X, case.gammas), case.name)
    returned = first.values.get("returned_type", "NoneType")
    X_after, g_after = first.arrays.get("X_after"), first.arrays.get("gammas_after")
    if X_after is None or X_after.shape != case.X.shape or not np.array_equal(X_after, case.X):
        raise Fail("mstep changed its argument X", ["mutates_inputs"])
    if (
        g_after is None
        or g_after.shape != case.gammas.shape
        or not np.array_equal(g_after, case.gammas)
    ):
        raise Fail("mstep changed its argument gammas", ["mutates_inputs"])
    other = cases.alternative_gammas(case)
    second = _need(ctx.mstep(case.params, case.X, other), f"{case.name} (other gammas)")
    a, b = _raw_params(first), _raw_params(second)
    for name, value in a.items():
        if value is None or not np.all(np.isfinite(value)):
            raise Fail(
                f"after mstep, self.{name} is {_fmt(value) if value is not None else 'not readable as numbers'}: "
                "it must hold finite numbers"
            )
    # Judged on whatever mstep stored (any size): the size itself is the value checks' business.
    if all(b[name] is not None and np.array_equal(a[name], b[name]) for name in a):
        raise Fail(
            "mstep stored the same parameters for two different gammas: it does not use the gammas it is given",
            ["ignores_given_gammas"],
        )
    note = (
        ""
        if returned == "NoneType"
        else f" (it returned a {returned}; the contract is None, which is not graded)"
    )
    return f"mstep leaves X and gammas unchanged and follows the gammas it is given{note}."


def _most_different(mine: Params, ref: Params) -> str:
    """'your variances [...], reference [...]' for the parameter furthest from the reference."""

    def gap(name):
        a, b = getattr(mine, name), getattr(ref, name)
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))

    name = max(("priors", "mus", "variances"), key=gap)
    label = {"mus": "means"}.get(name, name)
    return f"your {label} {_fmt(getattr(mine, name))}, reference {_fmt(getattr(ref, name))}"


def check_em_monotone(ctx):
    summary = []
    for case in cases.em_cases():
        k = case.start.k
        ref, mine = case.start, case.start
        previous = ctx.ref_loglik(mine, case.X)
        for it in range(1, case.iterations + 1):
            ref = ctx.ref_mstep(ref, case.X, ctx.ref_estep(ref, case.X))
            reply = _need(ctx.em_step(mine, case.X), f"{case.name}, iteration {it}")
            mine = _params_after(reply, k, f"{case.name}, iteration {it}")
            ll, ll_ref = ctx.ref_loglik(mine, case.X), ctx.ref_loglik(ref, case.X)
            scale = max(1.0, abs(ll_ref))
            if not np.isfinite(ll):
                raise Fail(
                    f"{case.name}: after iteration {it} the log-likelihood is {ll} "
                    f"(priors {_fmt(mine.priors)}, means {_fmt(mine.mus)}, variances {_fmt(mine.variances)})"
                )
            if ll < previous - LL_DROP_RTOL * scale:
                raise Fail(
                    f"{case.name}: the log-likelihood fell at iteration {it}, from {previous:.10g} to {ll:.10g} "
                    f"(by {previous - ll:.3g})",
                    ["loglik_decreased"],
                )
            if abs(ll - ll_ref) > LL_MATCH_RTOL * scale:
                raise Fail(
                    f"{case.name}: after iteration {it} the log-likelihood is {ll:.10g}, the reference's {ll_ref:.10g} "
                    f"({_most_different(mine, ref)})"
                )
            previous = ll
        summary.append(
            f"{case.name}: {case.iterations} iterations, final log-likelihood {previous:.6f}"
        )
    return "The log-likelihood never decreased and followed the reference:\n" + "\n".join(summary)


CHECKS = {check_id: globals()[f"check_{check_id}"] for check_id in TITLES}


GATE = "loads"

# A side-effect check earns its points only for a method that does its job: otherwise a method
# that returns anything without touching its inputs would score them (found by red-teaming).
REQUIRES_ONE_OF = {
    "estep_pure": ("estep_example", "estep_values"),
    "mstep_inputs": ("mstep_priors", "mstep_means", "mstep_variances"),
}


def run(check_id, ctx) -> Outcome:
    """Run one check; a Fail becomes a failed Outcome with its feedback and mistakes.

    ``loads`` is a gate: when the submission cannot build a k-cluster model, no other check
    runs (their inputs would be meaningless), and each says so.
    """
    ctx.take_output()
    gate = ctx.cache.get("gate")
    if check_id != GATE and gate is not None and not gate.passed:
        return Outcome(False, f"Not checked, because check 1 ({GATE}) failed: {gate.feedback}")
    try:
        message = CHECKS[check_id](ctx)
        outcome = Outcome(True, message)
    except Fail as exc:
        outcome = Outcome(False, exc.feedback + diagnosis.describe(exc.mistakes), exc.mistakes)
    outcome.output = ctx.take_output()
    needed = REQUIRES_ONE_OF.get(check_id)
    done = ctx.cache.setdefault("outcomes", {})
    if (
        outcome.passed
        and needed
        and not any(done.get(other, Outcome(False, "")).passed for other in needed)
    ):
        numbers = " or ".join(str(list(TITLES).index(other) + 1) for other in needed)
        outcome.passed = False
        outcome.feedback = (
            f"{outcome.feedback}\nNot awarded yet: this check counts only once check {numbers} passes "
            "(a method has no side effects worth points until it computes the right values)."
        )
    done[check_id] = outcome
    if check_id == GATE:
        ctx.cache["gate"] = outcome
    return outcome
