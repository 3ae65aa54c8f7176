"""The grader's inputs are fair: every graded point keeps mixture density >= 1e-6 (so code
that adds EPSILON = 1e-12 to denominators is within tolerance), and the EM data sets neither
collapse nor stall under the reference."""

import numpy as np
import pytest

from grader import cases, checks

REF = checks.load_reference()


def all_estep_cases():
    return [
        cases.WORKED_EXAMPLE,
        *cases.shape_cases(),
        *cases.pmf_cases(),
        *cases.value_cases(),
        cases.purity_case(),
    ]


@pytest.mark.parametrize("case", all_estep_cases(), ids=lambda c: c.name)
def test_estep_case_densities_stay_above_floor(case):
    assert cases.mixture_density(case.X, case.params).min() >= cases.MIN_DENSITY


@pytest.mark.parametrize("case", cases.mstep_cases(), ids=lambda c: c.name)
def test_mstep_cases_have_proper_gammas_that_differ_from_any_posterior(case):
    g = case.gammas
    assert np.allclose(g.sum(axis=1), 1) and (g >= 0).all()
    assert g.sum(axis=0).min() >= (2.0 if case.params.k > 1 else 1.0)
    ctx = checks.Context(None, REF)
    if case.params.k > 1:
        assert not np.allclose(g, ctx.ref_estep(case.params, case.X), atol=1e-3)
        assert not np.allclose(cases.alternative_gammas(case), g)


@pytest.mark.parametrize("case", cases.em_cases(), ids=lambda c: c.name)
def test_em_case_trajectory_keeps_density_and_rises(case):
    ctx = checks.Context(None, REF)
    params, previous = case.start, -np.inf
    for _ in range(case.iterations + 1):
        assert cases.mixture_density(case.X, params).min() >= cases.MIN_DENSITY
        ll = ctx.ref_loglik(params, case.X)
        assert ll >= previous - 1e-9 * abs(ll)
        assert params.variances.min() > 0.05  # no component collapsing onto a point
        previous = ll
        params = ctx.ref_mstep(params, case.X, ctx.ref_estep(params, case.X))


def test_cases_are_deterministic():
    a, b = cases.value_cases(), cases.value_cases()
    assert all(
        np.array_equal(x.X, y.X) and np.array_equal(x.params.mus, y.params.mus)
        for x, y in zip(a, b)
    )


def test_notebook_data_matches_its_description():
    case = cases.em_cases()[1]
    assert case.X.shape == (40, 1)
    assert np.array_equal(case.start.mus, [-0.5, 0.5]) and np.array_equal(
        case.start.variances, [1.0, 1.0]
    )
