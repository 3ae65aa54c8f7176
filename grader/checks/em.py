"""Full EM as the student's own code runs it: one model, its estep's answer handed to its
mstep, the parameters left exactly as its mstep stored them (grader/sandbox/worker.py,
em_run), judged by the log-likelihood the grader computes itself after every M-step."""

import numpy as np

from grader import diagnosis
from grader.cases import NOTEBOOK_EM, PARAM_LABELS, PARAM_NAMES, Params
from grader.checks.judge import fmt, need
from grader.checks.registry import REGISTRY, Fail, Pass, check, number
from grader.feedback import bullets, code
from grader.figure_data import EmFit, floats

LL_MATCH_RTOL = 1e-6  # EM trajectory vs the reference, relative to max(1, |ll|)
LL_DROP_RTOL = 1e-9  # a fall larger than this (relative to max(1, |ll|)) is a decrease


def _most_different(mine: Params, ref: Params) -> str:
    """'your variances [...], reference [...]' for the parameter furthest from the reference."""

    def gap(name):
        a, b = getattr(mine, name), getattr(ref, name)
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))

    name = max(PARAM_NAMES, key=gap)
    return (
        f"your {PARAM_LABELS[name]} {fmt(getattr(mine, name))}, reference {fmt(getattr(ref, name))}"
    )


def _earlier_failures(ctx) -> list:
    """The earlier checks with points that failed (not merely waiting for points)."""
    done = ctx.cache.get("outcomes", {})
    return [
        check_id
        for check_id, outcome in done.items()
        if not outcome.passed and not outcome.withheld and REGISTRY[check_id].points > 0
    ]


def _cause(ctx) -> str:
    """Why EM failed, when an earlier check already says: its number and title."""
    failed = _earlier_failures(ctx)
    if not failed:
        return ""
    named = "; ".join(f'check {number(c)}, "{REGISTRY[c].title}"' for c in failed)
    return (
        f"\n\n**Likely reason:** an earlier check failed ({named}). Full EM alternates your "
        "own `estep` and `mstep`, so it follows the reference only once they do: fix "
        + ("that check" if len(failed) == 1 else "those checks")
        + " first."
    )


def _stopped(case, failure, values) -> str:
    """Where the student's own EM stopped, and how its mstep had stored the parameters."""
    it, stage, error = failure["iteration"], failure["stage"], failure["error"]
    if stage == "read":
        text = f"{case.name}: after EM iteration {it}, {code(error)}"
    else:
        text = f"{case.name}: at EM iteration {it} your `{stage}` raised {code(error)}"
    start, now = values.get("start_layouts", {}), values.get("layouts", {})
    changed = [name for name in PARAM_NAMES if now.get(name) != start.get(name)]
    if changed:
        stored = ", ".join(f"`{name}` as {code(now[name])}" for name in changed)
        made = ", ".join(code(start.get(name, "?")) for name in changed)
        text += f" (after your `mstep` stored {stored}; your constructor made {made})"
    return text


def _fall(case, lls, it) -> str:
    """The log-likelihood around the iteration where it fell, as a list."""
    first = max(0, it - 3)
    items = [
        f"iteration {i}: {lls[i]:.10g}" + (" **(fell)**" if i == it else "")
        if i
        else f"start: {lls[0]:.10g}"
        for i in range(first, it + 1)
    ]
    return (
        f"{case.name}: the log-likelihood fell at iteration {it}, by {lls[it - 1] - lls[it]:.3g}:"
        "\n\n" + bullets(items)
    )


def _fit(ctx, case, reply, done, iteration, marked=None, why="") -> EmFit:
    """The figure's numbers for ``case``: the log-likelihood of every iteration, the
    student's (as far as its run went) and the reference's, and both fits after
    ``iteration``."""
    ref_params = [case.start]
    for _ in range(case.iterations):
        ref = ref_params[-1]
        ref_params.append(ctx.ref_mstep(ref, case.X, ctx.ref_estep(ref, case.X)))
    rows = [Params(*(reply.arrays[name][i] for name in PARAM_NAMES)) for i in range(done)]
    mine = [case.start, *rows]
    return EmFit(
        case=case.name,
        x=floats(case.X).ravel(),
        mine=mine[iteration],
        reference=ref_params[iteration],
        iteration=iteration,
        lls=floats([ctx.ref_loglik(params, case.X) for params in mine]),
        ref_lls=floats([ctx.ref_loglik(params, case.X) for params in ref_params]),
        marked=marked,
        why=why,
    )


def _iterations_reported(case, reply) -> int:
    """How many iterations the reply accounts for, once it is a whole account: a row of k
    numbers per iteration, and either every iteration or an error at the one after the last.
    The reply comes from the submission's own process: a run it cut short or forged without
    naming an error is judged on nothing, so it earns nothing."""
    done, failure = reply.values.get("iterations_done"), reply.values.get("failure")
    rows_ok = (
        type(done) is int
        and 0 <= done <= case.iterations
        and all(
            name in reply.arrays and reply.arrays[name].shape == (done, case.start.k)
            for name in PARAM_NAMES
        )
    )
    ended = done == case.iterations or (failure is not None and failure["iteration"] == done + 1)
    if not (rows_ok and ended):
        raise Fail(
            f"{case.name}: the account of your EM run came back incomplete ({done} of "
            f"{case.iterations} iterations, and no error named), so there is nothing to judge"
        )
    return done


@check(
    "em_monotone",
    "Full EM: the log-likelihood never decreases and follows the reference",
    points=15,
    proves="your own estep and mstep alternated on one model from fixed starts: the "
    "log-likelihood never decreases and follows the reference's",
)
def em_monotone(ctx):
    cause = _cause(ctx)
    try:
        return _em_monotone(ctx, cause)
    except Fail as exc:
        exc.feedback += cause
        raise


def _em_monotone(ctx, cause):
    """The check itself; ``cause`` (an earlier failed check) replaces the parameter list,
    which would point at parameters that check already explains."""
    summary, shown = [], None
    for case in ctx.cases.em_cases:
        reply = need(ctx.em_run(case.start, case.X, case.iterations), case.name)
        done = _iterations_reported(case, reply)
        ref = case.start
        previous = ctx.ref_loglik(case.start, case.X)
        lls = [previous]
        for it in range(1, done + 1):
            mine = Params(*(reply.arrays[name][it - 1] for name in PARAM_NAMES))
            ref = ctx.ref_mstep(ref, case.X, ctx.ref_estep(ref, case.X))
            ll, ll_ref = ctx.ref_loglik(mine, case.X), ctx.ref_loglik(ref, case.X)
            lls.append(ll)
            scale = max(1.0, abs(ll_ref))
            if not np.isfinite(ll):
                raise Fail(
                    f"{case.name}: after iteration {it} the log-likelihood is {ll} (priors "
                    f"{fmt(mine.priors)}, means {fmt(mine.mus)}, variances {fmt(mine.variances)})",
                    figure_data=_fit(ctx, case, reply, done, it, it, "not finite"),
                )
            if ll < previous - LL_DROP_RTOL * scale:
                fell = diagnosis.Situation("loglik", case.start.k, facts=frozenset(["fell"]))
                raise Fail(
                    _fall(case, lls, it),
                    situation=fell,
                    figure_data=_fit(ctx, case, reply, done, it, it, "fell"),
                )
            if abs(ll - ll_ref) > LL_MATCH_RTOL * scale:
                detail = "" if cause else f" ({_most_different(mine, ref)})"
                raise Fail(
                    f"{case.name}: after iteration {it} the log-likelihood is {ll:.10g}, the "
                    f"reference's {ll_ref:.10g}{detail}",
                    figure_data=_fit(ctx, case, reply, done, it, it, "parted"),
                )
            previous = ll
        if "failure" in reply.values:
            raise Fail(
                _stopped(case, reply.values["failure"], reply.values),
                # Nothing to draw before the first iteration's parameters.
                figure_data=_fit(ctx, case, reply, done, done, done + 1, "stopped")
                if done
                else None,
            )
        summary.append(
            f"{case.name}: {case.iterations} iterations, final log-likelihood {previous:.6f}"
        )
        if case is NOTEBOOK_EM:  # a pass shows the fit of the notebook's data
            shown = _fit(ctx, case, reply, done, done)
    text = "The log-likelihood never decreased and followed the reference:\n\n" + bullets(summary)
    return Pass(text, shown)
