"""Checks 7-10: the M-step's priors, means and variances on grader-made gammas, and that it
uses the gammas it is given without changing its inputs."""

import numpy as np

from grader import cases, diagnosis
from grader.checks.judge import LABELS, close, fmt, need, over_cases, param_after
from grader.checks.registry import Fail, check
from grader.feedback import code, comparison
from grader.figure_data import MstepValues, floats
from grader.sandbox.protocol import PARAM_NAMES


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
    label = LABELS[name]
    results = {id(case): (reply, reference) for case, reply, reference in _mstep_results(ctx)}

    def judge(case):
        k = case.params.k
        reply, reference = results[id(case)]
        reply = need(reply, case.name)
        got = param_after(reply, name, k, f"{case.name}, after mstep")
        expected = getattr(reference, name)
        if close(got, expected):
            return
        before = (case.params.priors, case.params.mus, case.params.variances)
        stored_mus = reply.arrays.get("mus")
        stored_mus = stored_mus.ravel() if stored_mus is not None and stored_mus.size == k else None
        mutants = diagnosis.mstep_mutants(
            case.X, case.gammas, before, ctx.ref_estep(case.params, case.X), stored_mus
        )
        mistakes = diagnosis.diagnose_mstep(name, got, mutants, expected)
        message = f"{case.name}, {label}:\n\n" + comparison([("expected", expected), ("got", got)])
        stale = diagnosis.stale_clusters(got, getattr(case.params, name), expected)
        if stale:
            which = ", ".join(str(j) for j in stale)
            clusters, had = ("cluster", "it had") if len(stale) == 1 else ("clusters", "they had")
            message += f"\n\n({clusters} {which} of {k} kept the {label} {had} before `mstep`)"
            mistakes.append(diagnosis.CLUSTERS_NOT_UPDATED)
        if diagnosis.stored_nothing(got, getattr(case.params, name), expected):
            message += f"\n\n(these are the {label} `mstep` was given: it stored none)"
            mistakes.append(diagnosis.STORED_NOTHING)
        if name == "variances":
            mistakes += diagnosis.variance_mistakes(got)
        raise Fail(message, mistakes, _values(case, reply, reference, name))

    over_cases(ctx.cases.mstep_cases, judge)
    return f"{label.capitalize()} match the maximum-likelihood update for k = 1..6."


@check("mstep_priors", "M-step priors", points=10, proves="the new priors, k = 1..6")
def mstep_priors(ctx):
    return _check_param(ctx, "priors")


@check("mstep_means", "M-step means", points=10, proves="the new means, k = 1..6")
def mstep_means(ctx):
    return _check_param(ctx, "mus")


@check(
    "mstep_variances",
    "M-step variances",
    points=10,
    proves="the new variances (about the new means), k = 1..6",
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
    requires_reason="an M-step has no side effects worth points until it computes means or "
    "variances right",
    proves="the result follows the `gammas` passed in; `X` and `gammas` are not modified",
)
def mstep_inputs(ctx):
    case, reply, _ = _mstep_results(ctx)[2]  # the cached call: same inputs, same answer
    first = need(reply, case.name)
    returned = first.values.get("returned_type", "NoneType")
    for argument, before in (("X", case.X), ("gammas", case.gammas)):
        after = first.arrays.get(f"{argument}_after")
        if after is None or after.shape != before.shape or not np.array_equal(after, before):
            raise Fail(f"`mstep` changed its argument `{argument}`", [diagnosis.MUTATES_INPUTS])
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
            [diagnosis.STORED_NOTHING],
        )
    # Judged on whatever mstep stored (any size): the size itself is the value checks' business.
    if all(b[name] is not None and np.array_equal(a[name], b[name]) for name in a):
        raise Fail(
            "`mstep` stored the same parameters for two different `gammas`: it does not use the "
            "`gammas` it is given",
            [diagnosis.IGNORES_GIVEN_GAMMAS],
        )
    note = "" if returned == "NoneType" else (
        f" (it returned {code(returned)}; the contract is `None`, which is not graded)"
    )  # fmt: skip
    return f"`mstep` leaves `X` and `gammas` unchanged and follows the `gammas` it is given{note}."
