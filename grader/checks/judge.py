"""What the checks share: reading a reply, comparing with the reference, wording feedback.

Tolerances: values must agree to ``ATOL`` + ``RTOL``·|expected|. Inputs keep every point's
mixture density at least 1e-6 (grader/cases.py), so correct code that adds EPSILON = 1e-12
to its denominators, as the course's hint does, is off by at most 1e-6 relative and always
passes.
"""

import numpy as np

from grader import cases, diagnosis
from grader.cases import PARAM_NAMES, Params
from grader.checks.registry import Fail
from grader.feedback import code, comparison, escape, numbers
from grader.figure_data import EstepValues, floats

ATOL = 1e-6
RTOL = 1e-5
PMF_TOL = 1e-6  # row sums and the [0, 1] range
K_RANGE = cases.K_VALUES
_SANDBOX_REFUSALS = ("can't start new thread", "Resource temporarily unavailable")


def fmt(values, digits=5) -> str:
    """At most eight numbers, as inline code: `[0.29421, 0.62246, ...]`."""
    return code(numbers(values, digits))


def need(reply, what, situation=None):
    """Fail the check unless the call ran and returned (the Fail carries ``situation``, what
    the diagnosis judges, when given)."""
    if not reply.ok:
        hint = ""
        if any(text in reply.error for text in _SANDBOX_REFUSALS):
            hint = (
                "\n\n(The grader runs your code with no threads or subprocesses: compute in "
                "the main thread.)"
            )
        # An exception's text is the submission's: code, where Markdown means nothing.
        error = code(reply.error) if reply.kind == "exception" else escape(reply.error)
        raise Fail(f"{what}: {error}{hint}", situation=situation)
    return reply


def param_after(reply, name, k, what, situation=None) -> np.ndarray:
    """Parameter ``name`` as the model holds it after a call: exactly k numbers, raveled.
    A failure carries ``situation`` (what the diagnosis judges) when given."""
    arr = reply.arrays.get(name)
    if arr is None:
        why = reply.values.get("param_errors", {}).get(name, "missing or not numeric")
        raise Fail(f"{what}: `self.{name}` could not be read as numbers ({code(why)})",
                   situation=situation)  # fmt: skip
    if arr.size != k:
        raise Fail(
            f"{what}: `self.{name}` holds {arr.size} numbers, expected {k} (one per cluster)",
            situation=situation,
        )
    return arr.ravel()


def params_after(reply, k, what) -> Params:
    """The model's three parameters after a call, each required to hold exactly k numbers."""
    return Params(**{name: param_after(reply, name, k, what) for name in PARAM_NAMES})


def estep_situation(case, got=None, right=None) -> diagnosis.Situation:
    """An E-step case as the diagnosis sees it (``got``: the result as returned, any shape)."""
    return diagnosis.Situation("gammas", case.params.k, got, right, case.X, case.params)


def result(reply, n, k, what, situation=None) -> np.ndarray:
    """The E-step's returned array; fails unless it has shape (n, k)."""
    got = reply.arrays.get("result")
    if got is None:
        returned = reply.values.get("result_type", "something")
        raise Fail(f"{what}: `estep` returned {code(returned)}, not an array of numbers",
                   situation=situation)  # fmt: skip
    if got.shape != (n, k):
        raise Fail(
            f"{what}: `estep` returned shape `{got.shape}`, expected (n, k) = `({n}, {k})`",
            situation=situation,
        )
    return got


def worst_row(got, expected) -> int:
    """The row of ``got`` furthest from ``expected`` (a non-finite entry is furthest)."""
    err = np.abs(got - expected)
    err[~np.isfinite(err)] = np.inf
    return int(np.argmax(err.max(axis=1)))


def estep_result(ctx, case):
    """Run the student's estep on ``case``: (its reply, its (n, k) result), or a Fail that
    carries what came back and the reference's answer, for the diagnosis."""
    right = ctx.ref_estep(case.params, case.X)
    reply = ctx.estep(case.params, case.X)
    got = reply.arrays.get("result") if reply.ok else None
    situation = estep_situation(case, got, right)
    need(reply, case.name, situation)
    return reply, result(reply, case.X.shape[0], case.params.k, case.name, situation)


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
    """Fail with the worst row unless ``got`` matches (the diagnosis names any mistake)."""
    if close(got, expected):
        return
    raise Fail(
        worst_row_message(got, expected, case.X, case.name),
        situation=estep_situation(case, got, expected),
        figure_data=EstepValues(case.name, floats(case.X).ravel(), floats(got), floats(expected),
                                worst_row(got, expected)),
    )  # fmt: skip


def over_cases(case_list, judge, output):
    """Judge every case; fail with a problem, how many cases failed, and the mistakes that
    explain every failing case (diagnosis.diagnose; ``output`` is what the check judges).
    The problem shown is the first failing case that is, on its own, evidence of a mistake
    named (the one its advice explains), else the first failing case."""
    failures = []
    for case in case_list:
        try:
            judge(case)
        except Fail as exc:
            failures.append((case, exc))
    if not failures:
        return
    situations = [exc.situation or diagnosis.Situation(output, case.params.k)
                  for case, exc in failures]  # fmt: skip
    mistakes = diagnosis.diagnose(situations)
    shown = next((exc for (_, exc), s in zip(failures, situations) if diagnosis.shows(s, mistakes)),
                 failures[0][1])  # fmt: skip
    feedback = shown.feedback
    if len(failures) > 1:
        failed_k = {case.params.k for case, _ in failures}
        ks = ", ".join(str(k) for k in sorted(failed_k))
        feedback += f"\n\n({len(failures)} of {len(case_list)} cases failed, for k = {ks}.)"
    raise Fail(feedback, mistakes, shown.figure_data)
