"""The promises of grader/cases.py hold for every key: a property test over 1,000 keys.

Everything here is computed independently of cases.py, with the reference solution
(solution/gmm1d.py): its density, E-step, M-step and log-likelihood. The keys are
fixed (sha256 of "fairness i"), so a failure names a key that reproduces it; cases.py
promises fairness by construction or redrawing, so any key is as good as another.
"""

import hashlib

import numpy as np
import pytest

from grader import cases, checks, secret

REF = checks.load_reference()
KEYS = 1000
CHUNKS = 10


def density(X, params):
    x = np.asarray(X, dtype=float).reshape(-1, 1)
    return REF.pdf(x, params.mus, params.variances) @ params.priors


def component_problems(name, p, distinct=True):
    found = []
    if p.priors.min() < 0.03 or abs(p.priors.sum() - 1) > 1e-12:
        found.append(f"{name}: priors {p.priors}")
    if p.variances.min() < 0.4 or p.variances.max() > 2.5:
        found.append(f"{name}: variances {p.variances}")
    if p.k > 1 and np.diff(np.sort(p.mus)).min() < 0.2:
        found.append(f"{name}: means {p.mus} closer than 0.2")
    if distinct and p.k > 1 and (np.ptp(p.priors) < 0.02 or np.abs(p.variances - 1).max() < 0.1):
        found.append(f"{name}: a prior or variance bug would not show ({p.priors}, {p.variances})")
    return found


def estep_problems(case):
    found = component_problems(case.name, case.params)
    if case.X.ndim != 2 or case.X.shape[1] != 1:
        found.append(f"{case.name}: X has shape {case.X.shape}")
    if density(case.X, case.params).min() < 1e-6:
        found.append(f"{case.name}: a point has mixture density below 1e-6")
    return found


def mstep_problems(ctx, case):
    # The old parameters are not in the M-step's answer (only the old means, as a trap).
    found = component_problems(case.name, case.params, distinct=False)
    g, k = case.gammas, case.params.k
    if not (np.allclose(g.sum(axis=1), 1) and (g >= 0).all() and g.shape == (len(case.X), k)):
        found.append(f"{case.name}: gammas are not (n, k) probability rows")
    if k > 1 and g.sum(axis=0).min() < 2.0:
        found.append(f"{case.name}: a soft count below 2")
    new = ctx.ref_mstep(case.params, case.X, g)
    if np.abs(new.mus - case.params.mus).min() < 0.05:
        found.append(f"{case.name}: an old mean equals a new one (old-means bug invisible)")
    if k > 1 and np.allclose(g, ctx.ref_estep(case.params, case.X), atol=1e-3):
        found.append(f"{case.name}: gammas are the model's own posteriors")
    if k > 1 and np.allclose(cases.alternative_gammas(case), g):
        found.append(f"{case.name}: the alternative gammas are the same")
    return found


def em_problems(ctx, case, min_count=2.0):
    """Along the reference's trajectory: density >= 1e-6, soft counts >= ``min_count``,
    variances above 0.05 (that the log-likelihood never falls on it is EM's, tested in
    test_solution.py)."""
    params = case.start
    for step in range(case.iterations + 1):
        where = f"{case.name}, step {step}"
        if density(case.X, params).min() < 1e-6:
            return [f"{where}: a point has mixture density below 1e-6"]
        if params.variances.min() <= 0.05:
            return [f"{where}: a variance collapsed to {params.variances.min():.3g}"]
        gammas = ctx.ref_estep(params, case.X)
        if params.k > 1 and gammas.sum(axis=0).min() < min_count:
            return [f"{where}: a soft count below {min_count:g}"]
        params = ctx.ref_mstep(params, case.X, gammas)
    return []


def problems(key):
    case_set = cases.CaseSet(key)
    ctx = checks.Context(None, REF, case_set)
    found = []
    for case in [*case_set.shape_cases, *case_set.pmf_cases, *case_set.value_cases,
                 case_set.purity_case]:  # fmt: skip
        found += estep_problems(case)
    for case in case_set.mstep_cases:
        found += mstep_problems(ctx, case)
    generated_em = case_set.em_cases[2:]
    if case_set.em_cases[:2] != [cases.EXERCISE_EM, cases.NOTEBOOK_EM] or len(generated_em) < 2:
        found.append(f"EM cases are not the published two and generated ones: {case_set.em_cases}")
    for case in generated_em:
        found += em_problems(ctx, case)
    for group in (case_set.pmf_cases, case_set.value_cases, case_set.mstep_cases):
        if sorted(c.params.k for c in group) != [1, 2, 3, 4, 5, 6]:
            found.append("k = 1..6 not all covered")
    return found


def check_keys(first, last):
    """Keys sha256("fairness i") for first <= i < last (test_cases_fair_more.py takes the
    second half, so the two halves run on two cores)."""
    for i in range(first, last):
        found = problems(hashlib.sha256(b"fairness %d" % i).digest())
        assert not found, f"key sha256('fairness {i}'): {found[:5]}"


@pytest.mark.parametrize("chunk", range(CHUNKS // 2))
def test_every_promise_holds_for_a_thousand_keys(chunk):
    size = KEYS // CHUNKS
    check_keys(chunk * size, (chunk + 1) * size)


def test_the_published_examples_keep_the_promises_too():
    ctx = checks.Context(None, REF, cases.CaseSet(secret.DEVELOPMENT))
    example = cases.WORKED_EXAMPLE  # equal priors and variances of 4: the course's choice
    assert density(example.X, example.params).min() >= 1e-6
    # Five points cannot give two clusters two points' weight each from the start; the
    # soft-count promise is the generated cases'.
    assert em_problems(ctx, cases.EXERCISE_EM, min_count=0.0) == []
    assert em_problems(ctx, cases.NOTEBOOK_EM) == []


def test_the_property_test_catches_a_broken_promise():
    """The checker above is not vacuous: a case that breaks each promise is reported."""
    good = cases.CaseSet(secret.DEVELOPMENT).value_cases[2]
    far = cases.EstepCase("far", good.X + 60.0, good.params)
    assert any("density" in p for p in estep_problems(far))
    flat = cases.Params(np.full(3, 1 / 3), good.params.mus, np.ones(3))
    assert any("would not show" in p for p in component_problems("flat", flat))
    ctx = checks.Context(None, REF, None)
    m = cases.CaseSet(secret.DEVELOPMENT).mstep_cases[3]
    own = cases.MstepCase("own", m.X, ctx.ref_estep(m.params, m.X), m.params)
    assert any("own posteriors" in p for p in mstep_problems(ctx, own))
    em = cases.CaseSet(secret.DEVELOPMENT).em_cases[2]
    tiny = cases.EmCase("tiny", em.X * 1e-3, em.start, em.iterations)
    assert em_problems(ctx, tiny)
