"""What the checks share: reading a reply, comparing with the reference, wording feedback.

Tolerances: values must agree to ``ATOL`` + ``RTOL``·|expected|. Inputs keep every point's
mixture density at least 1e-6 (grader/cases.py), so correct code that adds EPSILON = 1e-12
to its denominators, as the course's hint does, is off by at most 1e-6 relative and always
passes.
"""

import numpy as np

from grader import diagnosis
from grader.cases import Params
from grader.checks.registry import Fail
from grader.feedback import code, comparison, escape, numbers
from grader.figure_data import EstepValues, floats
from grader.sandbox.protocol import PARAM_NAMES

ATOL = 1e-6
RTOL = 1e-5
PMF_TOL = 1e-6  # row sums and the [0, 1] range
K_RANGE = range(1, 7)
LABELS = {"priors": "priors", "mus": "means", "variances": "variances"}
_SANDBOX_REFUSALS = ("can't start new thread", "Resource temporarily unavailable")


def fmt(values, digits=5) -> str:
    """At most eight numbers, as inline code: `[0.29421, 0.62246, ...]`."""
    return code(numbers(values, digits))


def need(reply, what):
    """Fail the check unless the call ran and returned."""
    if not reply.ok:
        hint = ""
        if any(text in reply.error for text in _SANDBOX_REFUSALS):
            hint = (
                "\n\n(The grader runs your code with no threads or subprocesses: compute in "
                "the main thread.)"
            )
        # An exception's text is the submission's: code, where Markdown means nothing.
        error = code(reply.error) if reply.kind == "exception" else escape(reply.error)
        raise Fail(f"{what}: {error}{hint}")
    return reply


def param_after(reply, name, k, what) -> np.ndarray:
    """Parameter ``name`` as the model holds it after a call: exactly k numbers, raveled."""
    arr = reply.arrays.get(name)
    if arr is None:
        why = reply.values.get("param_errors", {}).get(name, "missing or not numeric")
        raise Fail(f"{what}: `self.{name}` could not be read as numbers ({code(why)})")
    if arr.size != k:
        raise Fail(
            f"{what}: `self.{name}` holds {arr.size} numbers, expected {k} (one per cluster)",
            diagnosis.size_mistakes(arr.size, k),
        )
    return arr.ravel()


def params_after(reply, k, what) -> Params:
    """The model's three parameters after a call, each required to hold exactly k numbers."""
    return Params(**{name: param_after(reply, name, k, what) for name in PARAM_NAMES})


def result(reply, n, k, what) -> np.ndarray:
    """The E-step's returned array; fails unless it has shape (n, k)."""
    got = reply.arrays.get("result")
    if got is None:
        returned = reply.values.get("result_type", "something")
        raise Fail(f"{what}: `estep` returned {code(returned)}, not an array of numbers")
    if got.shape != (n, k):
        raise Fail(
            f"{what}: `estep` returned shape `{got.shape}`, expected (n, k) = `({n}, {k})`",
            diagnosis.shape_mistakes(got.shape, n, k),
        )
    return got


def worst_row(got, expected) -> int:
    """The row of ``got`` furthest from ``expected`` (a non-finite entry is furthest)."""
    err = np.abs(got - expected)
    err[~np.isfinite(err)] = np.inf
    return int(np.argmax(err.max(axis=1)))


def worst_row_message(got, expected, X, what):
    err = np.abs(got - expected)
    err[~np.isfinite(err)] = np.inf
    row = worst_row(got, expected)
    return (
        f"{what}: row {row} (x = {float(X[row, 0]):.6g}):\n\n"
        + comparison([("expected", expected[row]), ("got", got[row])])
        + f"\n\nlargest error {float(err.max()):.3g}"
    )


def close(got, expected) -> bool:
    finite = bool(np.all(np.isfinite(got)))
    return finite and bool(np.allclose(got, expected, atol=ATOL, rtol=RTOL))


def compare_estep(case, got, expected):
    """Fail with the worst row and any recognised mistake unless ``got`` matches."""
    if close(got, expected):
        return
    p = case.params
    raise Fail(
        worst_row_message(got, expected, case.X, case.name),
        diagnosis.diagnose_estep(got, case.X, p.priors, p.mus, p.variances),
        EstepValues(case.name, floats(case.X).ravel(), floats(got), floats(expected),
                    worst_row(got, expected)),
    )  # fmt: skip


def over_cases(case_list, judge):
    """Judge every case; fail with the first problem, how many cases failed, and the union
    of diagnosed mistakes (and what the pattern of failing k says)."""
    failures = []
    for case in case_list:
        try:
            judge(case)
        except Fail as exc:
            failures.append((case, exc))
    if not failures:
        return
    failed_k = {case.params.k for case, _ in failures}
    mistakes = diagnosis.reconcile_k(
        diagnosis.recurring([exc.mistakes for _, exc in failures]),
        failed_k,
        {c.params.k for c in case_list},
    )
    # Shown: the first failure that carries a mistake still named (its feedback explains it).
    shown = next((exc for _, exc in failures if set(exc.mistakes) & set(mistakes)), failures[0][1])
    feedback = shown.feedback
    if len(failures) > 1:
        ks = ", ".join(str(k) for k in sorted(failed_k))
        feedback += f"\n\n({len(failures)} of {len(case_list)} cases failed, for k = {ks}.)"
    raise Fail(feedback, mistakes, shown.figure_data)
