"""The reference solution (solution/gmm1d.py): the grader trusts it for every expected value.

Expected numbers are the published MITx 6.86x answers (unit 4, "An Example Update" and the
exercise "EM Algorithm") typed in below, closed forms worked out in the comments, or
scikit-learn's GaussianMixture used as an independent oracle. None is produced by the code
under test.
"""

import importlib.util
import math
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

from grader import paths


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = load(paths.SOLUTION_PATH, "gmm1d_reference_under_test")


def column(values):
    return np.array(values, dtype=float).reshape(-1, 1)


def model(priors, mus, variances):
    m = ref.GMM1D(len(priors), seed=0)
    m.priors, m.mus, m.variances = column(priors), column(mus), column(variances)
    return m


def params(m):
    return [np.asarray(a, dtype=float).ravel() for a in (m.priors, m.mus, m.variances)]


# --- known answers (published 6.86x answers) ------------------------------------------------------

# "An Example Update" (6.86x lecture 16)
EXAMPLE_X = column([0.2, -0.9, -1.0, 1.2, 1.8])
EXAMPLE_START = ([0.5, 0.5], [-3.0, 2.0], [4.0, 4.0])
EXAMPLE_GAMMA1 = np.array([0.2942149722, 0.6224593312, 0.6513548647, 0.1066905939, 0.0534033298])

# Exercise "EM Algorithm" (6.86x)
EXERCISE_X = column([-1.0, 0.0, 4.0, 5.0, 6.0])
EXERCISE_START = ([0.5, 0.5], [6.0, 7.0], [1.0, 4.0])


def test_example_update_estep_to_1e9():
    gammas = model(*EXAMPLE_START).estep(EXAMPLE_X)
    assert gammas.shape == (5, 2)
    np.testing.assert_allclose(gammas[:, 0], EXAMPLE_GAMMA1, rtol=0, atol=1e-9)
    np.testing.assert_allclose(gammas[:, 1], 1 - EXAMPLE_GAMMA1, rtol=0, atol=1e-9)


def test_example_update_mstep_after_its_own_estep():
    m = model(*EXAMPLE_START)
    m.mstep(EXAMPLE_X, m.estep(EXAMPLE_X))
    priors, mus, variances = params(m)
    # Cluster 2 is published to 10 decimals; cluster 1 to 5, and pi_1 = 1 - pi_2.
    np.testing.assert_allclose(priors, [1 - 0.6543753816, 0.6543753816], rtol=0, atol=1e-9)
    np.testing.assert_allclose(mus[1], 0.6811290964, rtol=0, atol=1e-9)
    np.testing.assert_allclose(variances[1], 1.0752479632, rtol=0, atol=1e-9)
    np.testing.assert_allclose([mus[0], variances[0]], [-0.53733, 0.57579], rtol=0, atol=5e-6)


def test_example_update_mstep_from_the_published_gammas():
    m = model(*EXAMPLE_START)
    m.mstep(EXAMPLE_X, np.column_stack([EXAMPLE_GAMMA1, 1 - EXAMPLE_GAMMA1]))
    priors, mus, variances = params(m)
    # The gammas are rounded to 1e-10, which moves the results by well under 1e-8.
    np.testing.assert_allclose(priors[1], 0.6543753816, rtol=0, atol=1e-8)
    np.testing.assert_allclose(mus[1], 0.6811290964, rtol=0, atol=1e-8)
    np.testing.assert_allclose(variances[1], 1.0752479632, rtol=0, atol=1e-8)
    np.testing.assert_allclose(
        [priors[0], mus[0], variances[0]], [0.34562, -0.53733, 0.57579], rtol=0, atol=5e-6
    )


def test_example_update_log_likelihood():
    assert model(*EXAMPLE_START).log_likelihood(EXAMPLE_X) == pytest.approx(
        -11.6484877702, abs=1e-9
    )


def test_exercise_first_estep():
    m = model(*EXERCISE_START)
    assert m.log_likelihood(EXERCISE_X) == pytest.approx(-24.5125323301, abs=1e-9)
    gammas = m.estep(EXERCISE_X)
    assert list(np.argmax(gammas, axis=1) + 1) == [2, 2, 2, 1, 1]
    assert gammas[3, 0] == pytest.approx(2 / 3, abs=1e-12)


def test_exercise_one_em_iteration():
    m = model(*EXERCISE_START)
    m.em(EXERCISE_X)
    priors, mus, variances = params(m)
    np.testing.assert_allclose(priors, [0.3630370594, 0.6369629406], rtol=0, atol=1e-9)
    np.testing.assert_allclose(mus, [5.1317280296, 1.4710314946], rtol=0, atol=1e-9)
    np.testing.assert_allclose(variances, [0.6155625014, 6.9670221018], rtol=0, atol=1e-9)
    assert m.log_likelihood(EXERCISE_X) == pytest.approx(-10.9559124208, abs=1e-9)
    # "Gaussian 2 moves left more (relatively) and its variance grows more (relatively)."
    assert abs(mus[1] - 7) / 7 > abs(mus[0] - 6) / 6 and variances[1] / 4 > variances[0] / 1


def test_exercise_converges_to_the_published_fixed_point():
    m = model(*EXERCISE_START)
    trajectory = m.fit(EXERCISE_X)
    assert 1 < len(trajectory) < 1000
    priors, mus, variances = params(m)
    np.testing.assert_allclose(priors, [0.6, 0.4], rtol=0, atol=1e-6)
    np.testing.assert_allclose(mus, [5.0, -0.5], rtol=0, atol=1e-6)
    np.testing.assert_allclose(variances, [2 / 3, 0.25], rtol=0, atol=1e-6)
    assert variances[0] > variances[1]
    assert trajectory[-1] == pytest.approx(-8.4652589669, abs=1e-9)


def test_notebook_synthetic_data_log_likelihood_increases_at_every_step():
    rng = np.random.RandomState(7)
    first = rng.rand(40) < 0.4
    X = column(np.where(first, -2.5, 3.5) + 2.0 * rng.randn(40))
    m = model([0.5, 0.5], [-0.5, 0.5], [1.0, 1.0])
    trajectory = [m.log_likelihood(X)] + m.fit(X)
    steps = np.diff(trajectory)
    assert np.all(np.isfinite(trajectory))
    assert steps[0] > 0 and np.all(steps[:10] > 0)  # real progress while far from the optimum
    assert np.all(steps >= -1e-12 * abs(trajectory[-1]))  # and never a fall, even at the end


# --- scikit-learn as an oracle ----------------------------------------------------------

sklearn_mixture = pytest.importorskip("sklearn.mixture")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402


def well_scaled_case(k, seed):
    """Data from k separated clusters and a start near them: nothing collapses in 100 steps."""
    rng = np.random.RandomState(seed)
    centres = 4.0 * np.arange(k)
    X = column(np.concatenate([c + rng.uniform(0.5, 1.5) * rng.randn(120) for c in centres]))
    priors = rng.dirichlet(np.full(k, 5.0))
    mus = centres + rng.randn(k)
    variances = rng.uniform(0.5, 3.0, k)
    return X, priors, mus, variances


@pytest.mark.parametrize("k", range(1, 7))
def test_agrees_with_scikit_learn_for_100_iterations(k):
    X, priors, mus, variances = well_scaled_case(k, seed=1000 + k)
    m = model(priors, mus, variances)
    oracle = sklearn_mixture.GaussianMixture(
        k,
        covariance_type="full",
        reg_covar=0.0,
        tol=0.0,
        max_iter=1,
        warm_start=True,
        weights_init=priors,
        means_init=mus[:, None],
        precisions_init=(1 / variances)[:, None, None],
    )
    n = X.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for iteration in range(1, 101):
            gammas = m.estep(X)
            if iteration in (2, 50, 100):  # the oracle now holds our parameters (see below)
                np.testing.assert_allclose(gammas, oracle.predict_proba(X), rtol=0, atol=1e-9)
            m.mstep(X, gammas)
            oracle.fit(X)
            got_priors, got_mus, got_variances = params(m)
            where = f"k={k}, iteration {iteration}"
            np.testing.assert_allclose(
                got_priors, oracle.weights_, rtol=1e-9, atol=1e-12, err_msg=where
            )
            np.testing.assert_allclose(
                got_mus, oracle.means_.ravel(), rtol=1e-9, atol=1e-9, err_msg=where
            )
            np.testing.assert_allclose(
                got_variances, oracle.covariances_.ravel(), rtol=1e-9, err_msg=where
            )
            # score() is the per-sample MEAN log-likelihood; ours is the SUM.
            assert m.log_likelihood(X) / n == pytest.approx(oracle.score(X), rel=1e-9, abs=1e-12), (
                where
            )
        assert got_variances.min() > 0.1  # the data stayed well-scaled: no component collapsed


# --- stability: points far from every component -------------------------------------------


def test_far_points_get_finite_posteriors_and_log_likelihood():
    m = model([0.3, 0.7], [0.0, 1.0], [1.0, 4.0])
    X = column([1e3, -1e4, 1e6, 0.5])
    gammas = m.estep(X)
    assert np.all(np.isfinite(gammas))
    np.testing.assert_allclose(gammas.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # Far out, the wider component's tail dominates by exp(-huge): its posterior is 1.
    np.testing.assert_allclose(gammas[:3], [[0.0, 1.0]] * 3, rtol=0, atol=1e-12)
    # log p(x) for x = 1e3 is log(0.7) - log(2 pi 4) / 2 - 999^2 / 8 (the other term is
    # smaller by a factor exp(-(1e6 - 999^2/4)) and vanishes).
    expected = math.log(0.7) - 0.5 * math.log(2 * math.pi * 4) - 999.0**2 / 8
    assert m.log_likelihood(X[:1]) == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(m.log_likelihood(X))
    m.mstep(X, gammas)
    assert all(np.all(np.isfinite(a)) for a in params(m))


def test_a_point_between_two_narrow_components_splits_by_distance():
    # mus (-50, 60), var 1: at x = 0.5 both densities underflow to 0 in linear space. The odds
    # of cluster 2 are exp((50.5^2 - 59.5^2) / 2) = exp(-495): cluster 1 takes all. At x = 5
    # the two are equidistant (55 each), so each gets exactly 1/2.
    m = model([0.5, 0.5], [-50.0, 60.0], [1.0, 1.0])
    gammas = m.estep(column([0.5, 5.0]))
    np.testing.assert_allclose(gammas, [[1.0, 0.0], [0.5, 0.5]], rtol=0, atol=1e-12)
    assert gammas[0, 1] == pytest.approx(math.exp(-495), rel=1e-9)


# --- contracts: shapes, inputs untouched, the given gammas used ------------------------------


def random_problem(k, n=60, seed=0):
    rng = np.random.RandomState(seed)
    m = model(rng.dirichlet(np.ones(k)), 2 * rng.randn(k), rng.uniform(0.5, 2, k))
    X = column(3 * rng.randn(n))
    return m, X, rng


@pytest.mark.parametrize("k", [1, 2, 5])
def test_estep_leaves_X_and_parameters_alone_and_returns_fresh_rows(k):
    m, X, _ = random_problem(k)
    X_before = X.copy()
    before = [a.copy() for a in (m.priors, m.mus, m.variances)]
    gammas = m.estep(X)
    assert isinstance(gammas, np.ndarray) and gammas.shape == (60, k) and gammas.dtype == float
    assert np.array_equal(X, X_before)
    assert all(np.array_equal(a, b) for a, b in zip((m.priors, m.mus, m.variances), before))
    np.testing.assert_allclose(gammas.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(gammas >= 0)
    gammas[:] = -1.0  # writing to the result must not touch the model or a later call
    assert np.all(m.estep(X) >= 0)
    assert all(np.array_equal(a, b) for a, b in zip((m.priors, m.mus, m.variances), before))


def fsum_mstep(X, gammas):
    """The M-step written out per cluster with exactly rounded sums (independent of numpy)."""
    x = [float(v) for v in X.ravel()]
    priors, mus, variances = [], [], []
    for j in range(gammas.shape[1]):
        g = [float(v) for v in gammas[:, j]]
        count = math.fsum(g)
        mu = math.fsum(gi * xi for gi, xi in zip(g, x)) / count
        priors.append(count / len(x))
        mus.append(mu)
        variances.append(math.fsum(gi * (xi - mu) ** 2 for gi, xi in zip(g, x)) / count)
    return priors, mus, variances


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("k", [1, 3, 6])
def test_mstep_uses_the_given_gammas_in_any_layout(k, layout):
    m, X, rng = random_problem(k, seed=k)
    gammas = rng.dirichlet(np.ones(k), size=60)  # arbitrary rows, not this model's posteriors
    expected = fsum_mstep(X, gammas)
    if layout == "F":
        gammas = np.asfortranarray(gammas)
    elif layout == "strided":
        wide = np.zeros((60, 2 * k))
        wide[:, ::2] = gammas
        gammas = wide[:, ::2]
    X_before, gammas_before = X.copy(), gammas.copy()
    assert m.mstep(X, gammas) is None
    assert np.array_equal(X, X_before) and np.array_equal(gammas, gammas_before)
    for got, want in zip((m.priors, m.mus, m.variances), expected):
        assert isinstance(got, np.ndarray) and got.shape == (k, 1)
        np.testing.assert_allclose(got.ravel(), want, rtol=1e-12, atol=1e-14)


def test_mstep_variance_is_about_the_new_mean():
    # One cluster, all weight 1: the variance of (0, 2) about its own mean 1 is 1, whatever
    # the old mean was (about the old mean 10 it would be 82).
    m = model([1.0], [10.0], [1.0])
    m.mstep(column([0.0, 2.0]), np.ones((2, 1)))
    assert params(m) == [[1.0], [1.0], [1.0]]


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((5, 1, 1)), np.zeros((5, 2))])
def test_estep_rejects_X_that_is_not_a_column(bad):
    with pytest.raises(ValueError):
        model([0.5, 0.5], [0.0, 1.0], [1.0, 1.0]).estep(bad)


# --- the parts shared with the stub (also pinned by tests/test_lab_consistency.py) ----------


def test_constants_and_pdf():
    assert ref.EPSILON == 1e-12 and ref.DELTA == 1e-9
    assert ref.pdf(0.0, 0.0, 1.0) == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-15)
    assert ref.pdf(3.0, 1.0, 4.0) == pytest.approx(
        math.exp(-0.5) / math.sqrt(8 * math.pi), rel=1e-15
    )
    assert ref.pdf(np.zeros((4, 1)), np.zeros((1, 3)), np.ones((1, 3))).shape == (4, 3)


@pytest.mark.parametrize("k", [1, 4])
def test_constructor_starts_as_the_course_starter(k):
    m = ref.GMM1D(k)
    assert m.num_gaussians == k
    for a in (m.priors, m.mus, m.variances):
        assert isinstance(a, np.ndarray) and a.shape == (k, 1)
    assert np.all(m.priors == 1 / k)
    assert np.all((m.variances >= ref.EPSILON) & (m.variances < 1 + ref.EPSILON))
    # Without a seed, the draws come from numpy's global state: randn for mus, then rand.
    np.random.seed(123)
    m = ref.GMM1D(k)
    np.random.seed(123)
    mus, variances = np.random.randn(k, 1), np.random.rand(k, 1) + 1e-12
    assert np.array_equal(m.mus, mus) and np.array_equal(m.variances, variances)
    # With one, the start is reproducible and leaves the global state alone.
    state = np.random.get_state()[1].copy()
    a, b = ref.GMM1D(k, seed=5), ref.GMM1D(k, seed=5)
    assert np.array_equal(a.mus, b.mus) and np.array_equal(a.variances, b.variances)
    assert np.array_equal(np.random.get_state()[1], state)


def test_fit_returns_one_log_likelihood_per_iteration_and_stops_at_delta():
    m = model(*EXERCISE_START)
    assert len(m.fit(EXERCISE_X, max_iters=3)) == 3
    m = model(*EXERCISE_START)
    trajectory = m.fit(EXERCISE_X, max_iters=1000, delta=1e-3)
    assert all(isinstance(v, float) for v in trajectory)
    assert abs(trajectory[-1] - trajectory[-2]) <= 1e-3
    assert all(abs(b - a) > 1e-3 for a, b in zip(trajectory[:-2], trajectory[1:-1]))


@pytest.mark.slow
def test_self_check_passes_as_a_student_would_run_it(tmp_path):
    shutil.copy(paths.SOLUTION_PATH, tmp_path / "gmm1d.py")
    run = subprocess.run(
        [sys.executable, "gmm1d.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    lines = run.stdout.splitlines()
    assert run.returncode == 0, run.stdout + run.stderr
    assert sum(line.startswith("PASS  ") for line in lines) == 20
    assert not any(line.startswith("FAIL") for line in lines)
    assert "All 20 checks passed." in lines and run.stderr == ""


def test_importing_does_not_run_the_self_check(tmp_path):
    shutil.copy(paths.SOLUTION_PATH, tmp_path / "gmm1d.py")
    run = subprocess.run(
        [sys.executable, "-c", "import gmm1d"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0 and run.stdout == "" and run.stderr == ""
