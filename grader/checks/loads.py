"""Check 1, the gate: the file imports and builds a k-cluster model."""

from grader import cases
from grader.checks.judge import K_RANGE, need, params_after
from grader.checks.registry import Fail, check
from grader.feedback import code


@check(
    "loads",
    "Submission loads: gmm1d.py imports and GMM1D(k) builds k-element parameters",
    points=0,
    gate=True,
    proves="`gmm1d.py` imports and `GMM1D(k)` sets `num_gaussians` and k numbers for each "
    f"parameter, {cases.K_TEXT}",
)
def loads(ctx):
    # Worth 0: importing proves nothing gradable; but without it no other input means anything.
    stored = ""
    for k in K_RANGE:
        what = f"GMM1D({k})"
        reply = need(ctx.construct(k), what)
        got_k = reply.values.get("num_gaussians")
        if got_k != k:
            shown = reply.values.get("num_gaussians_repr", got_k)
            raise Fail(f"`{what}.num_gaussians` is {code(shown)}, expected {k}")
        params_after(reply, k, what)
        if k == 3:
            types = reply.values.get("param_types", {})
            stored = ", ".join(f"`{n}` as {code(t)}" for n, t in types.items())
    return (
        "`gmm1d.py` imports and `GMM1D(k)` builds k numbers each for `priors`, `mus` and "
        f"`variances`, {cases.K_TEXT} (`GMM1D(3)` stores {stored})."
    )
