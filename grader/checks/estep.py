"""Checks 2-6: the E-step's shape, rows, values (published example and generated cases) and
side effects."""

import numpy as np

from grader import cases, diagnosis
from grader.cases import PARAM_NAMES
from grader.checks.judge import (
    PMF_TOL,
    compare_estep,
    estep_result,
    estep_situation,
    fmt,
    need,
    over_cases,
    params_after,
)
from grader.checks.registry import Fail, check
from grader.feedback import code, comparison, numbers


@check(
    "estep_shape",
    "E-step returns an (n, k) array of probabilities",
    points=10,
    proves="`estep` returns an array of shape (n, k) whose entries are finite numbers in [0, 1]",
)
def estep_shape(ctx):
    kinds = set()

    def judge(case):
        reply, got = estep_result(ctx, case)
        # Uninitialised memory (np.empty) has the right shape but is not an answer.
        bad = ~(np.isfinite(got) & (got >= -PMF_TOL) & (got <= 1 + PMF_TOL))
        if bad.any():
            row = int(np.argmax(bad.any(axis=1)))
            raise Fail(
                f"{case.name}: row {row} of what `estep` returned is {fmt(got[row])}: every "
                "entry must be a probability, a finite number in [0, 1]",
                situation=estep_situation(case, got, ctx.ref_estep(case.params, case.X)),
            )
        kinds.add(reply.values.get("result_type", ""))

    over_cases(ctx.cases.shape_cases, judge, "gammas")
    message = f"`estep` returns probabilities of shape (n, k) for (n, k) = {cases.SHAPE_TEXT}."
    # What the worker reports about the type is only a courtesy (it is the submission's
    # process): arrays of any kind are graded alike, and this is a note, never a verdict.
    others = sorted(k for k in kinds if "numpy.ndarray" not in k)
    if others:
        message += (
            f" It returned a {code(others[0])}, which was read as an array; the lab asks for "
            "a numpy array (`np.array(...)`)."
        )
    return message


def _row_problem(case, got):
    """(row, what is wrong with it, as the rest of a sentence naming the row) for the first
    row that is not a distribution, or None."""
    k = case.params.k
    bad = ~np.isfinite(got).all(axis=1)
    if bad.any():
        return int(np.argmax(bad)), ": not finite"
    out_of_range = (got < -PMF_TOL) | (got > 1 + PMF_TOL)
    if out_of_range.any():
        return int(np.argmax(out_of_range.any(axis=1))), ": entries must lie in [0, 1]"
    sums = got.sum(axis=1)
    if np.abs(sums - 1).max() > PMF_TOL:
        row = int(np.argmax(np.abs(sums - 1)))
        return row, f", which sums to {sums[row]:.6g}, not 1"
    if k >= 2 and np.ptp(got, axis=0).max() < 1e-6:
        return None, "whatever x is; a posterior depends on the point"
    return None


@check(
    "estep_pmf",
    "E-step rows are probability distributions",
    points=10,
    proves="every row is finite, within [0, 1], sums to 1 and depends on the point, "
    + cases.K_TEXT,
)
def estep_pmf(ctx):
    def judge(case):
        _, got = estep_result(ctx, case)
        problem = _row_problem(case, got)
        if problem is None:
            return
        row, why = problem
        situation = estep_situation(case, got, ctx.ref_estep(case.params, case.X))
        if row is None:
            raise Fail(f"{case.name}: every row is {fmt(got[0])} {why}", situation=situation)
        where = f"{case.name}: row {row} (x = {case.X[row, 0]:.6g}) is {fmt(got[row])}"
        raise Fail(f"{where}{why}", situation=situation)

    over_cases(ctx.cases.pmf_cases, judge, "gammas")
    return f"Every row is finite, in [0, 1] and sums to 1, for {cases.K_TEXT}."


@check(
    "estep_values",
    f"E-step values match the reference (unequal priors and variances, {cases.K_TEXT})",
    points=15,
    proves=f"posteriors match the reference for {cases.K_TEXT} with unequal priors and variances",
)
def estep_values(ctx):
    def judge(case):
        _, got = estep_result(ctx, case)
        compare_estep(case, got, ctx.ref_estep(case.params, case.X))

    over_cases(ctx.cases.value_cases, judge, "gammas")
    return f"Posteriors match the reference for {cases.K_TEXT} with unequal priors and variances."


@check(
    "estep_example",
    "E-step matches the worked example",
    points=10,
    # The handout prints this example's answer, so it can be copied: it still gives its
    # feedback, but its points count only once the generated cases show the E-step working.
    requires=("estep_values",),
    requires_reason="the worked example's answer is in the handout, so on its own it proves "
    "nothing; a named mistake counts when it gives this example's answer too",
    published=cases.WORKED_EXAMPLE,
    proves='the posteriors of "An Example Update"',
)
def estep_example(ctx):
    case = cases.WORKED_EXAMPLE
    _, got = estep_result(ctx, case)
    compare_estep(case, got, ctx.ref_estep(case.params, case.X))
    return f"P(cluster 1 | x) = {fmt(got[:, 0])}, as expected."


@check(
    "estep_pure",
    "E-step has no side effects",
    points=5,
    # A method that computes nothing has no side effects, and earns nothing for it: its
    # values (generated data; a published answer can be copied) must show it computing.
    requires=("estep_values",),
    requires_reason="a method that computes nothing has no side effects worth points",
    proves="`X` and the parameters are unchanged after `estep`",
)
def estep_pure(ctx):
    case = ctx.cases.purity_case
    reply = need(ctx.estep(case.params, case.X), case.name)
    X_after = reply.arrays.get("X_after")

    def effect(fact):
        return diagnosis.Situation("estep_effects", case.params.k, facts=frozenset([fact]))

    if X_after is None or X_after.shape != case.X.shape or not np.array_equal(X_after, case.X):
        message = "`estep` changed its argument `X` (compare `X` before and after the call)"
        raise Fail(message, situation=effect("X_changed"))
    try:
        after = params_after(reply, case.params.k, "after estep")
    except Fail as exc:
        raise Fail(exc.feedback, situation=effect("params_changed")) from None
    for name in PARAM_NAMES:
        before, now = getattr(case.params, name), getattr(after, name)
        if not np.array_equal(before, now):
            message = f"`estep` changed `self.{name}`:\n\n" + comparison(
                [("before", before), ("after", now)]
            )
            if numbers(before) == numbers(now):  # the digits shown hide the change
                message += f"\n\nThe digits shown hide it: {diagnosis.changed_by(before, now)}."
            raise Fail(message, situation=effect("params_changed"))
    return "`estep` left `X` and the model's parameters unchanged."
