"""Checks 7-10: the M-step's priors, means and variances on grader-made gammas, and that it
uses the gammas it is given without changing its inputs."""

import numpy as np

from grader import cases, diagnosis
from grader.cases import PARAM_LABELS, PARAM_NAMES
from grader.checks.judge import close, fmt, need, over_cases, param_after
from grader.checks.registry import Fail, check
from grader.feedback import code, comparison
from grader.figure_data import MstepValues, floats


def _mstep_results(ctx):
    """(case, the student's reply, the reference's answer) for every M-step case, computed
    once and shared by the M-step checks."""
    if "mstep" not in ctx.cache:
        ctx.cache["mstep"] = [
            (
                case,
                ctx.mstep(case.params, case.X, case.gammas),
                ctx.ref_mstep(case.params, case.X, case.gammas),
            )
            for case in ctx.cases.mstep_cases
        ]
    for _, reply, _ in ctx.cache["mstep"]:
        ctx.note_unwritten(reply, "mstep")
    return ctx.cache["mstep"]


def _values(case, reply, reference, focus) -> MstepValues:
    """The figure's numbers: every parameter the student's mstep stored as k numbers."""
    stored = {name: reply.arrays.get(name) for name in PARAM_NAMES}
    mine = {
        name: floats(arr).ravel() if arr is not None and arr.size == case.params.k else None
        for name, arr in stored.items()
    }
    return MstepValues(case.name, mine, reference, focus)


def _check_param(ctx, name):
    """Judge one parameter of every M-step case; the others are their own checks' business
    (a wrong size or value of one parameter fails only that parameter's check)."""
    label = PARAM_LABELS[name]
    results = {id(case): (reply, reference) for case, reply, reference in _mstep_results(ctx)}

    def judge(case):
        k = case.params.k
        reply, reference = results[id(case)]
        expected = getattr(reference, name)
        stored = {n: reply.arrays.get(n) for n in PARAM_NAMES} if reply.ok else {}
        situation = diagnosis.Situation(
            name, k, stored.get(name), expected, case.X, case.params, case.gammas,
            {n: np.ravel(v) if v is not None else None for n, v in stored.items()},
        )  # fmt: skip
        need(reply, case.name, situation)
        got = param_after(reply, name, k, f"{case.name}, after mstep", situation)
        if close(got, expected):
            return
        message = f"{case.name}, {label}:\n\n" + comparison([("expected", expected), ("got", got)])
        before = getattr(case.params, name)
        kept = np.isclose(got, before, atol=diagnosis.MATCH_ATOL, rtol=diagnosis.MATCH_RTOL)
        kept &= ~np.isclose(got, expected, atol=diagnosis.MATCH_ATOL, rtol=diagnosis.MATCH_RTOL)
        if np.array_equal(got, before):
            updated = [PARAM_LABELS[n] for n in PARAM_NAMES
                       if n != name and not np.array_equal(situation.stored.get(n),
                                                           getattr(case.params, n))]  # fmt: skip
            message += f"\n\n(these are the {label} `mstep` was given: it stored none"
            message += f", though it updated the {' and '.join(updated)})" if updated else ")"
        elif kept.any() and not kept.all():
            which = ", ".join(str(int(j) + 1) for j in np.flatnonzero(kept))
            clusters, had = ("cluster", "it had") if kept.sum() == 1 else ("clusters", "they had")
            message += f"\n\n({clusters} {which} of {k} kept the {label} {had} before `mstep`)"
        raise Fail(message, situation=situation, figure_data=_values(case, reply, reference, name))

    over_cases(ctx.cases.mstep_cases, judge, name)
    return f"{label.capitalize()} match the maximum-likelihood update for {cases.K_TEXT}."


@check("mstep_priors", "M-step priors", points=10, proves=f"the new priors, {cases.K_TEXT}")
def mstep_priors(ctx):
    return _check_param(ctx, "priors")


@check("mstep_means", "M-step means", points=10, proves=f"the new means, {cases.K_TEXT}")
def mstep_means(ctx):
    return _check_param(ctx, "mus")


@check(
    "mstep_variances",
    "M-step variances",
    points=10,
    proves=f"the new variances (about the new means), {cases.K_TEXT}",
)
def mstep_variances(ctx):
    return _check_param(ctx, "variances")


@check(
    "mstep_inputs",
    "M-step uses the gammas it is given and leaves its inputs unchanged",
    points=5,
    # Priors alone are one line (gammas.mean(axis=0)): the means or the variances show that
    # mstep computes from X and the gammas.
    requires=("mstep_means", "mstep_variances"),
    requires_reason="an M-step that computes nothing has no side effects worth points",
    proves="the result follows the `gammas` passed in; `X` and `gammas` are not modified",
)
def mstep_inputs(ctx):
    case, reply, _ = _mstep_results(ctx)[2]  # the cached call: same inputs, same answer
    first = need(reply, case.name)
    returned = first.values.get("returned_type", "NoneType")

    def seen(fact):
        return diagnosis.Situation("mstep_arguments", case.params.k, facts=frozenset([fact]))

    for argument, before in (("X", case.X), ("gammas", case.gammas)):
        after = first.arrays.get(f"{argument}_after")
        if after is None or after.shape != before.shape or not np.array_equal(after, before):
            raise Fail(
                f"`mstep` changed its argument `{argument}`", situation=seen("argument_changed")
            )
    other = cases.alternative_gammas(case)
    second = need(ctx.mstep(case.params, case.X, other), f"{case.name} (other gammas)")
    a = {name: first.arrays.get(name) for name in PARAM_NAMES}
    b = {name: second.arrays.get(name) for name in PARAM_NAMES}
    for name, value in a.items():
        if value is None or not np.all(np.isfinite(value)):
            shown = fmt(value) if value is not None else "not readable as numbers"
            raise Fail(f"after `mstep`, `self.{name}` is {shown}: it must hold finite numbers")
    if all(np.array_equal(a[name], np.ravel(getattr(case.params, name))) for name in a):
        raise Fail(
            "after `mstep`, `self.priors`, `self.mus` and `self.variances` are exactly what they "
            "were before: it stored nothing",
            situation=seen("stored_nothing"),
        )
    # Judged on whatever mstep stored (any size): the size itself is the value checks' business.
    if all(b[name] is not None and np.array_equal(a[name], b[name]) for name in a):
        raise Fail(
            "`mstep` stored the same parameters for two different `gammas`: it does not use the "
            "`gammas` it is given",
            situation=seen("same_for_other_gammas"),
        )
    note = "" if returned == "NoneType" else (
        f" (it returned {code(returned)}; the contract is `None`, which is not graded)"
    )  # fmt: skip
    return f"`mstep` leaves `X` and `gammas` unchanged and follows the `gammas` it is given{note}."
