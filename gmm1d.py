"""Lab 3: EM for a one-dimensional Gaussian mixture (your starter file).

Your job: finish ``GMM1D.estep`` and ``GMM1D.mstep`` below, for ANY number of clusters.
Everything else in this file already works; leave it as it is. Submit only this file.

Check your work with ``python gmm1d.py``: it prints one PASS/FAIL line per check, each failure
naming the method at fault, and exits with status 0 only when every check passes.
``python gmm1d.py --plot`` also saves a picture of your fit, gmm1d_fit.png (needs matplotlib).
HANDOUT.md explains the lab, what to install and the grading.

Shapes used throughout (n = number of points, k = number of clusters):
    X                                  (n, 1)   one data point per row
    self.priors, self.mus, self.variances   (k, 1)   one cluster per row
    gammas                             (n, k)   gammas[i, j] = P(cluster j | x_i)
"""

import argparse
import pathlib
import sys
import traceback

import numpy as np

EPSILON = 1e-12  # keeps the random initial variances away from zero
DELTA = 1e-9  # default convergence threshold for ``fit``


def pdf(X, mu, variance):
    """Gaussian density N(X | mu, variance), elementwise.

    The arguments broadcast like any numpy arithmetic: an (n, 1) X with (1, k) mu and
    variance gives the whole (n, k) table of densities at once.
    """
    return np.exp(-((X - mu) ** 2) / (2.0 * variance)) / np.sqrt(2.0 * np.pi * variance)


class GMM1D:
    """A mixture of ``num_gaussians`` one-dimensional Gaussians, fitted by EM.

    Attributes:
        num_gaussians: k, the number of clusters.
        priors: (k, 1) mixing weights, summing to 1 (uniform at the start).
        mus: (k, 1) cluster means (standard normal draws at the start).
        variances: (k, 1) cluster variances (uniform in [0, 1) plus EPSILON at the start).

    ``seed`` (optional) makes the random start reproducible; without it the start is drawn
    from numpy's global random state.
    """

    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = rng.randn(k, 1)
        self.variances = rng.rand(k, 1) + EPSILON

    def log_likelihood(self, X):
        """The SUM over the points of log p(x_i) under the current parameters, a float.

        X: (n, 1). Works with logarithms throughout (the log-sum-exp trick), so a point far
        from every cluster costs a large negative number instead of log(0) = -inf.
        """
        X = np.asarray(X, dtype=float).reshape(-1, 1)  # (n, 1)
        priors = np.reshape(self.priors, (1, -1))  # (1, k)
        mus = np.reshape(self.mus, (1, -1))  # (1, k)
        variances = np.reshape(self.variances, (1, -1))  # (1, k)
        # log_joint[i, j] = log(prior_j * N(x_i | mu_j, var_j)), an (n, k) table.
        log_joint = (
            np.log(priors)
            - 0.5 * np.log(2.0 * np.pi * variances)
            - (X - mus) ** 2 / (2.0 * variances)
        )
        # log sum_j exp(a_ij) = top_i + log sum_j exp(a_ij - top_i), with top_i = max_j a_ij:
        # the largest term becomes exp(0) = 1, so the sum cannot underflow to 0.
        top = np.max(log_joint, axis=1, keepdims=True)  # (n, 1)
        top[~np.isfinite(top)] = 0.0
        log_p = top + np.log(np.sum(np.exp(log_joint - top), axis=1, keepdims=True))
        return float(np.sum(log_p))

    def estep(self, X):
        """E-step: the posterior probability of every cluster, for every point.

        X: (n, 1). Returns gammas, an (n, k) array with gammas[i, j] = P(cluster j | x_i), so
        every row is a probability vector (entries >= 0 that sum to 1).
        Raises ValueError when X is not a 2-D array. Changes nothing: neither X nor the
        parameters.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        # TODO: write the E-step. It is Bayes' rule, one column per cluster j:
        #
        #     joint[i, j]  = priors[j] * N(x_i | mus[j], variances[j])    p(x_i and cluster j)
        #     evidence[i]  = joint[i, 0] + joint[i, 1] + ... + joint[i, k-1]       p(x_i)
        #     gammas[i, j] = joint[i, j] / evidence[i]                    P(cluster j | x_i)
        #
        # Shapes: X is (n, 1) and the parameters are (k, 1), so self.mus.T is (1, k). numpy
        # broadcasts (n, 1) against (1, k) to (n, k): pdf(X, self.mus.T, self.variances.T) is
        # the whole table of densities in one call. Summing a table along axis=1 with
        # keepdims=True gives an (n, 1) column, which divides an (n, k) table row by row.
        #
        # The hint two_gaussian_1dgm.py writes this out for exactly two clusters, with one
        # variable per cluster. Yours must work for any k (self.num_gaussians), so use
        # arrays with one column per cluster, not one variable per cluster.
        #
        # Do not modify X or the parameters here (no `X -= ...`, no `self.mus = ...`).
        # Optional: far from every cluster all the densities underflow to 0 and 0 / 0 is NaN;
        # working with logarithms, as log_likelihood above does, avoids that.
        raise NotImplementedError(
            "GMM1D.estep is not written yet: it must return the (n, k) array gammas with "
            "gammas[i, j] = P(cluster j | x_i) (Bayes' rule)"
        )

    def mstep(self, X, gammas):
        """M-step: the maximum-likelihood parameters for the given posteriors, in place.

        X: (n, 1); gammas: (n, k), as returned by ``estep``. Replaces self.priors, self.mus
        and self.variances with (k, 1) arrays and returns None. Modifies neither X nor
        gammas.
        """
        # TODO: write the M-step. For every cluster j, with n points:
        #
        #     n_j          = gammas[0, j] + ... + gammas[n-1, j]      (soft count of points in j)
        #     priors[j]    = n_j / n                                  (the column mean of gammas)
        #     mus[j]       = sum_i gammas[i, j] * x_i / n_j           (gamma-weighted mean)
        #     variances[j] = sum_i gammas[i, j] * (x_i - mus[j])**2 / n_j
        #
        # The variance is measured from the NEW mean you just computed, not the old one.
        #
        # Shapes: gammas.sum(axis=0) is the (k,) vector of soft counts; gammas * X broadcasts
        # (n, k) against (n, 1). Store each result as a (k, 1) column (.reshape(-1, 1)).
        # Use the gammas you are given (do not call self.estep here), and do not modify X or
        # gammas in place (no `gammas *= ...`). Like the E-step, this must work for any k.
        raise NotImplementedError(
            "GMM1D.mstep is not written yet: it must set self.priors, self.mus and "
            "self.variances ((k, 1) each) from X and gammas"
        )

    def em(self, X):
        """One EM iteration: an E-step followed by an M-step."""
        self.mstep(X, self.estep(X))

    def fit(self, X, max_iters=1000, delta=DELTA):
        """Run EM until the log-likelihood changes by at most ``delta``.

        Returns the list of log-likelihoods, one per iteration (after its M-step).
        """
        log_likelihoods = []
        previous = self.log_likelihood(X)
        for _ in range(max_iters):
            self.em(X)
            current = self.log_likelihood(X)
            log_likelihoods.append(current)
            if abs(current - previous) <= delta:
                break
            previous = current
        return log_likelihoods


# --------------------------------------------------------------------------------------
# Self-check: `python gmm1d.py`, or self_check() in the notebook. Nothing below runs when
# this file is imported (the grader imports it). Every expected value is typed in from
# published answers or follows from first principles (Bayes' rule, what the M-step
# maximises, EM never lowering the log-likelihood); none comes from a model solution.
# --------------------------------------------------------------------------------------

# MITx 6.86x, lecture 16, "An Example Update" (two clusters, five points).
_EXAMPLE = {
    "priors": [0.5, 0.5],
    "mus": [-3.0, 2.0],
    "variances": [4.0, 4.0],
    "X": [0.2, -0.9, -1.0, 1.2, 1.8],
    "gamma1": [0.2942149722, 0.6224593312, 0.6513548647, 0.1066905939, 0.0534033298],
    # After one M-step. Cluster 2 is published to 10 decimals, cluster 1 to 5 (pi_1 = 1 - pi_2).
    "new_priors": [0.3456246184, 0.6543753816],
    "new_mus": [-0.53733, 0.6811290964],
    "new_variances": [0.57579, 1.0752479632],
    "tolerance": [5e-6, 1e-8],
}

# MITx 6.86x exercise "EM Algorithm": one full EM iteration.
_EXERCISE = {
    "priors": [0.5, 0.5],
    "mus": [6.0, 7.0],
    "variances": [1.0, 4.0],
    "X": [-1.0, 0.0, 4.0, 5.0, 6.0],
    "more_likely_cluster": [2, 2, 2, 1, 1],
    "gamma1_at_5": 2.0 / 3.0,
    "new_priors": [0.3630370594, 0.6369629406],
    "new_mus": [5.1317280296, 1.4710314946],
    "new_variances": [0.6155625014, 6.9670221018],
}

_STEPS = ("estep", "mstep")  # the two methods you write
_AT_FAULT = ("__init__", *_STEPS)  # every failure blames one: yours, or the given constructor


class _CheckFailed(Exception):
    """A check's expectation was not met. ``step`` ('estep', 'mstep' or '__init__') is the
    method at fault; the message says what was expected and what came back."""

    def __init__(self, step, message):
        super().__init__(message)
        self.step = step


def _expect(step, condition, message):
    if not condition:
        raise _CheckFailed(step, message)


def _fmt(values):
    """A short, readable rendering of an array: up to 8 numbers to 11 significant digits."""
    flat = np.asarray(values, dtype=float).ravel()
    shown = ", ".join(f"{v:.11g}" for v in flat[:8])
    return f"[{shown}{', ...' if flat.size > 8 else ''}]"


def _new_model(k, seed=0):
    """GMM1D(k), checked to be what the constructor you were given builds."""
    model = GMM1D(k, seed=seed)
    _expect(
        "__init__",
        model.num_gaussians == k
        and all(np.shape(getattr(model, n)) == (k, 1) for n in ("priors", "mus", "variances")),
        f"GMM1D({k}) should set num_gaussians = {k} and ({k}, 1) parameters; the constructor "
        "you were given does, leave it as it is",
    )
    return model


def _model(priors, mus, variances):
    """A GMM1D with the given parameters stored as (k, 1) columns."""
    model = _new_model(len(priors))
    model.priors = np.array(priors, dtype=float).reshape(-1, 1)
    model.mus = np.array(mus, dtype=float).reshape(-1, 1)
    model.variances = np.array(variances, dtype=float).reshape(-1, 1)
    return model


def _column(values):
    return np.array(values, dtype=float).reshape(-1, 1)


def _log_joint(X, priors, mus, variances):
    """log(prior_j N(x_i | mu_j, var_j)) as an (n, k) table, from flat (k,) parameters."""
    return np.log(priors) - 0.5 * np.log(2.0 * np.pi * variances) - (X - mus) ** 2 / (2 * variances)


def _snapshot(model, *arrays):
    """Copies of the given arrays and of the model's parameters, to see what a call changed."""
    params = [getattr(model, name, None) for name in ("priors", "mus", "variances")]
    return [np.array(a, copy=True) for a in (*arrays, *params)]


# --- what every E-step must return ------------------------------------------------------


def _checked_gammas(model, X, when=""):
    """Call estep; check it returned an (n, k) array and changed neither X nor the parameters."""
    before = _snapshot(model, X)
    gammas = model.estep(X)
    n, k = X.shape[0], model.num_gaussians
    _expect(
        "estep",
        isinstance(gammas, np.ndarray),
        f"{when}estep should return a numpy array of shape ({n}, {k}), got {type(gammas).__name__}",
    )
    _expect(
        "estep",
        gammas.shape == (n, k),
        f"{when}estep should return shape (n, k) = ({n}, {k}), got {gammas.shape}",
    )
    _expect(
        "estep",
        all(np.array_equal(a, b) for a, b in zip(before, _snapshot(model, X))),
        f"{when}estep must not modify X, self.priors, self.mus or self.variances, but it did",
    )
    return gammas


def _expect_bayes(model, X, gammas, when=""):
    """gammas are probability rows equal to Bayes' rule under the model's parameters.

    Rows and values are compared where the point's density p(x_i) is at least 1e-6: further
    out, adding EPSILON to a denominator (as the hint does) changes the posteriors, and that
    is allowed.
    """
    _expect(
        "estep", np.all(np.isfinite(gammas)), f"{when}expected finite posteriors, got NaN or inf"
    )
    _expect(
        "estep",
        np.all(gammas >= 0.0),
        f"{when}expected posteriors >= 0, got {float(gammas.min())!r}",
    )
    # Bayes' rule, in logarithms so that no density underflows to 0.
    params = [
        np.asarray(p, dtype=float).ravel() for p in (model.priors, model.mus, model.variances)
    ]
    log_joint = _log_joint(X, *params)
    top = log_joint.max(axis=1, keepdims=True)
    expected = np.exp(log_joint - top)
    log_density = top[:, 0] + np.log(expected.sum(axis=1))  # log p(x_i)
    expected /= expected.sum(axis=1, keepdims=True)
    fair = log_density >= np.log(1e-6)
    off = np.where(fair, np.abs(gammas.sum(axis=1) - 1.0), 0.0)
    i = int(np.argmax(off))
    _expect(
        "estep",
        off[i] <= 1e-6,
        f"{when}expected every row of gammas to sum to 1, row {i} sums to "
        f"{float(gammas[i].sum())!r}",
    )
    error = np.where(fair[:, None], np.abs(gammas - expected), 0.0)
    i, j = np.unravel_index(int(np.argmax(error)), error.shape)
    _expect(
        "estep",
        error[i, j] <= 1e-6,
        f"{when}expected gammas[{i}, {j}] = {float(expected[i, j])!r} (Bayes' rule), got "
        f"{float(gammas[i, j])!r}",
    )


# --- what every M-step must leave ---------------------------------------------------------


def _checked_parameters(model, k):
    """The three parameters after mstep as flat arrays, each checked to be a (k, 1) column."""
    found = []
    for name in ("priors", "mus", "variances"):
        try:
            value = np.asarray(getattr(model, name), dtype=float)
        except (AttributeError, TypeError, ValueError) as exc:
            raise _CheckFailed(
                "mstep", f"after mstep, self.{name} is not an array: {exc}"
            ) from None
        _expect(
            "mstep",
            value.shape == (k, 1),
            f"after mstep, self.{name} should be a ({k}, 1) column (one row per cluster), got "
            f"shape {value.shape}",
        )
        found.append(value.ravel())
    return found


def _checked_mstep(model, X, gammas, when=""):
    """Call mstep; check it left k numbers per parameter, priors that are probabilities
    summing to 1, finite means, positive variances, and X and gammas unchanged."""
    X_before, gammas_before = X.copy(), gammas.copy()
    model.mstep(X, gammas)
    _expect(
        "mstep",
        np.array_equal(X, X_before) and np.array_equal(gammas, gammas_before),
        f"{when}mstep must not modify X or gammas, but it changed them",
    )
    priors, mus, variances = _checked_parameters(model, gammas.shape[1])
    for name, value in zip(("priors", "mus", "variances"), (priors, mus, variances)):
        _expect(
            "mstep", np.all(np.isfinite(value)), f"{when}expected finite {name}, got {_fmt(value)}"
        )
    _expect("mstep", np.all(priors >= 0.0), f"{when}expected priors >= 0, got {_fmt(priors)}")
    # The priors add up to the mean row sum of gammas: 1 for probability rows (which the hint's
    # EPSILON leaves a hair lower where a point is far from every cluster).
    total = float(gammas.sum()) / gammas.shape[0]
    _expect(
        "mstep",
        abs(priors.sum() - total) <= 1e-6,
        f"{when}expected the priors to sum to 1, they sum to {priors.sum():.10g} "
        f"(priors {_fmt(priors)})",
    )
    _expect(
        "mstep", np.all(variances > 0.0), f"{when}expected variances > 0, got {_fmt(variances)}"
    )
    return priors, mus, variances


def _moves(priors, mus, variances):
    """Small changes of one parameter each: (its name, its value, the changed value, all
    three parameters with that change)."""
    h = 1e-4
    for j in range(priors.size):
        for sign in (1.0, -1.0):
            moved = mus.copy()
            moved[j] += sign * h * np.sqrt(variances[j])
            yield f"mus[{j}]", mus[j], moved[j], (priors, moved, variances)
            moved = variances.copy()
            moved[j] *= 1.0 + sign * h
            yield f"variances[{j}]", variances[j], moved[j], (priors, mus, moved)
        for other in range(priors.size):  # shift a little prior from cluster `other` to j
            if other != j:
                moved = priors.copy()
                shift = h * min(priors[j], priors[other])
                moved[j] += shift
                moved[other] -= shift
                yield f"priors[{j}]", priors[j], moved[j], (moved, mus, variances)


def _expect_maximises(X, gammas, found):
    """The M-step's answer maximises sum_ij gammas[i, j] log(prior_j N(x_i | mu_j, var_j))
    over priors that sum to 1: no small change of any one parameter does better."""

    def objective(params):
        return float(np.sum(gammas * _log_joint(X, *params)))

    best = objective(found)
    for name, value, moved, params in _moves(*found):
        better = objective(params)
        _expect(
            "mstep",
            better <= best + 1e-12 * max(1.0, abs(best)),
            f"{name} = {value:.10g} is not the best value for the given gammas: {moved:.10g} "
            f"gives a higher sum_ij gammas[i, j] log(prior_j N(x_i | mu_j, var_j)) "
            f"({better:.10g} > {best:.10g}), which the M-step maximises; see its formulas in "
            "HANDOUT.md",
        )


# --- the checks -----------------------------------------------------------------------


def _check_estep_example():
    ex = _EXAMPLE
    X = _column(ex["X"])
    gammas = _checked_gammas(_model(ex["priors"], ex["mus"], ex["variances"]), X)
    expected = np.array(ex["gamma1"])
    error = np.max(np.abs(gammas[:, 0] - expected))
    _expect(
        "estep",
        error <= 1e-9,
        f"expected P(cluster 1 | x) = {_fmt(expected)}, got {_fmt(gammas[:, 0])}",
    )
    _expect(
        "estep",
        np.max(np.abs(gammas[:, 1] - (1.0 - expected))) <= 1e-9,
        f"expected P(cluster 2 | x) = {_fmt(1.0 - expected)}, got {_fmt(gammas[:, 1])}",
    )
    return f"P(cluster 1 | x) = {_fmt(gammas[:, 0])} as published"


def _check_mstep_example():
    ex = _EXAMPLE
    X = _column(ex["X"])
    gamma1 = np.array(ex["gamma1"])
    model = _model(ex["priors"], ex["mus"], ex["variances"])
    found = _checked_mstep(model, X, np.column_stack([gamma1, 1.0 - gamma1]))
    for name, got in zip(("priors", "mus", "variances"), found):
        expected = np.array(ex["new_" + name])
        _expect(
            "mstep",
            np.all(np.abs(got - expected) <= ex["tolerance"]),
            f"expected {name} = {_fmt(expected)}, got {_fmt(got)}",
        )
    return "priors {}, mus {}, variances {} as published".format(*(_fmt(f) for f in found))


def _check_em_exercise():
    ex = _EXERCISE
    X = _column(ex["X"])
    model = _model(ex["priors"], ex["mus"], ex["variances"])
    gammas = _checked_gammas(model, X)
    more_likely = list(np.argmax(gammas, axis=1) + 1)
    _expect(
        "estep",
        more_likely == ex["more_likely_cluster"],
        f"expected the more likely cluster per point to be {ex['more_likely_cluster']}, "
        f"got {more_likely}",
    )
    _expect(
        "estep",
        abs(gammas[3, 0] - ex["gamma1_at_5"]) <= 1e-9,
        f"expected P(cluster 1 | x = 5) = 2/3, got {float(gammas[3, 0])!r}",
    )
    found = _checked_mstep(model, X, gammas)
    for name, got in zip(("priors", "mus", "variances"), found):
        expected = np.array(ex["new_" + name])
        # 1e-6: p(x = -1) is only ~3.4e-5, so code that adds EPSILON to its denominators
        # (as the hint does) is off by ~3e-8 here, and that is fine.
        _expect(
            "mstep",
            np.all(np.abs(got - expected) <= 1e-6),
            f"after one EM iteration expected {name} = {_fmt(expected)}, got {_fmt(got)}",
        )
    return "after one EM iteration: priors {}, mus {}, variances {} as published".format(
        *(_fmt(f) for f in found)
    )


def _random_model(k, rng):
    """Random but well-behaved parameters for k clusters."""
    priors = rng.dirichlet(np.full(k, 2.0))
    return _model(priors, 3.0 * rng.randn(k), rng.uniform(0.5, 3.0, k))


def _check_estep_general(k):
    rng = np.random.RandomState(100 + k)
    model = _random_model(k, rng)
    # 200 points drawn from the model itself, so no point is absurdly far from every cluster.
    labels = rng.choice(k, size=200, p=model.priors[:, 0])
    X = _column(model.mus[labels, 0] + np.sqrt(model.variances[labels, 0]) * rng.randn(200))
    _expect_bayes(model, X, _checked_gammas(model, X))
    return f"shape (200, {k}), rows are probability vectors, values follow Bayes' rule"


def _check_mstep_general(k):
    rng = np.random.RandomState(300 + k)
    X = _column(3.0 * rng.randn(200))
    gammas = rng.dirichlet(np.full(k, 1.0), size=200)  # any probability rows will do
    model = _random_model(k, rng)  # where the parameters were before: mstep must not care
    _expect_maximises(X, gammas, _checked_mstep(model, X, gammas))
    return "k numbers each, priors sum to 1, variances > 0, the best fit to the gammas"


def _synthetic_data(k, rng, per_cluster=150):
    """Points from k well-separated clusters on roughly the scale of the random start."""
    centres = np.linspace(-(k - 1.0), k - 1.0, k)  # 2 apart
    points = [c + 0.3 * rng.randn(per_cluster) for c in centres]
    return _column(np.concatenate(points))


def _check_em_increases(k):
    rng = np.random.RandomState(200 + k)
    X = _synthetic_data(k, rng)
    model = _new_model(k, seed=k)
    first = previous = model.log_likelihood(X)
    for iteration in range(1, 301):
        when = f"in EM iteration {iteration}, "
        gammas = _checked_gammas(model, X, when)
        _expect_bayes(model, X, gammas, when)
        _checked_mstep(model, X, gammas, when)
        current = model.log_likelihood(X)
        # The E-step just followed Bayes' rule, so only the M-step can lower the likelihood.
        _expect(
            "mstep",
            current >= previous - 1e-9 * max(1.0, abs(previous)),
            f"{when}the log-likelihood fell from {previous!r} to {current!r}: after a right "
            "E-step, the M-step must never lower it",
        )
        if abs(current - previous) <= DELTA:
            break
        previous = current
    return (
        f"{X.shape[0]} points, {iteration} iterations, log-likelihood {first:.4f} -> "
        f"{current:.4f}, never decreased"
    )


_CHECKS = (
    [
        ("E-step, worked example (6.86x 'An Example Update')", _check_estep_example),
        ("M-step, worked example (6.86x 'An Example Update')", _check_mstep_example),
        ("one EM iteration, 6.86x exercise 'EM Algorithm'", _check_em_exercise),
    ]
    + [(f"E-step, k = {k}", lambda k=k: _check_estep_general(k)) for k in range(1, 7)]
    + [(f"M-step, k = {k}", lambda k=k: _check_mstep_general(k)) for k in range(1, 7)]
    + [(f"EM on synthetic data, k = {k}", lambda k=k: _check_em_increases(k)) for k in range(2, 7)]
)


def _frames_in_your_code(exc):
    """The frames of exc's traceback in the file (or notebook cell) that defines GMM1D."""
    code = getattr(getattr(GMM1D, "estep", None), "__code__", None)  # None if wrapped
    home = code.co_filename if code is not None else None
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if home is None or f.filename == home]


def _where(exc):
    """' (in estep, line N: code)' for the innermost frame of your code in exc's traceback."""
    here = _frames_in_your_code(exc)
    if not here:
        return ""
    frame = here[-1]
    return f" (in {frame.name}, line {frame.lineno}: {(frame.line or '').strip()})"


def _run(check):
    """Run one check: (status, the method at fault or None, what to print)."""
    try:
        return "PASS", None, check()
    except _CheckFailed as exc:
        return "FAIL", exc.step, f"{exc.step}: {exc}"
    except NotImplementedError as exc:
        step = next((s for s in _STEPS if str(exc).startswith(f"GMM1D.{s}")), None)
        return "FAIL", step, str(exc).split(":")[0] + " (it raises NotImplementedError)"
    except Exception as exc:  # a bug in estep/mstep: say what and where, no traceback
        names = [f.name for f in _frames_in_your_code(exc) if f.name in _AT_FAULT]
        step = names[-1] if names else None
        blame = f"{step}: " if step else ""
        return "FAIL", step, f"{blame}raised {type(exc).__name__}: {exc}{_where(exc)}"


def self_check():
    """Run every check and print one PASS/FAIL line each, then which of your methods the
    failures point at. Returns 0 when every check passes, else 1 (the exit status of
    ``python gmm1d.py``)."""
    blamed, unwritten = [], set()
    for name, check in _CHECKS:
        status, step, detail = _run(check)
        if status == "FAIL":
            blamed.append(step)
            if "(it raises NotImplementedError)" in detail:
                unwritten.add(step)
        print(f"{status}  {name}: {detail}")
    print()
    if unwritten:
        methods = [f"GMM1D.{s}" for s in _STEPS if s in unwritten]
        verb = "raises" if len(methods) == 1 else "raise"
        print(
            f"Not written yet: {' and '.join(methods)} still {verb} NotImplementedError. Replace "
            "each `raise NotImplementedError(...)` with your code (the comments above it say "
            "what to compute; HANDOUT.md has the formulas), then run `python gmm1d.py` again."
        )
    if not blamed:
        print(f"All {len(_CHECKS)} checks passed.")
        return 0
    counts = [f"GMM1D.{s} ({blamed.count(s)})" for s in _AT_FAULT if s in blamed]
    print(f"{len(blamed)} of {len(_CHECKS)} checks failed. At fault: {', '.join(counts)}.")
    if "__init__" in blamed:
        print("GMM1D.__init__ was given to you: restore it from the handout's gmm1d.py.")
    if "estep" in blamed and "mstep" in blamed:
        print("Fix estep first: the EM checks run mstep on what your estep returns.")
    return 1


# --------------------------------------------------------------------------------------
# The picture: `python gmm1d.py --plot`, or plot_fit() in the notebook. Your GMM1D fitted to
# the course notebook's data (the grader's full-EM check uses the same 40 points and start).
# --------------------------------------------------------------------------------------

MATPLOTLIB = "matplotlib==3.10.9"  # the version the grader uses (HANDOUT.md lists them all)

# 40 points: 40% from N(-2.5, 4) and 60% from N(3.5, 4), drawn with numpy's RandomState(922),
# whose stream numpy keeps the same in every version. EM starts from these parameters.
_NOTEBOOK_SEED = 922
_NOTEBOOK_START = {"priors": [0.5, 0.5], "mus": [-0.5, 0.5], "variances": [1.0, 1.0]}


def _notebook_data():
    """The notebook exercise's 40 points as an (n, 1) column."""
    rng = np.random.RandomState(_NOTEBOOK_SEED)
    second_cluster = rng.uniform(size=40) >= 0.4
    return _column(rng.normal(np.where(second_cluster, 3.5, -2.5), 2.0))


def plot_fit(path="gmm1d_fit.png"):
    """Fit your GMM1D to the notebook's 40 points and save a picture of the fit as a PNG.

    Left: the data (a histogram, and a tick per point), each fitted cluster
    prior_j N(x | mu_j, var_j) and the mixture, their sum. Right: the log-likelihood after each
    EM iteration, which must never go down (a fall is marked in red). Returns the path of the
    PNG. Raises ModuleNotFoundError, saying what to install, when matplotlib is missing.
    """
    try:
        from matplotlib.figure import Figure  # no pyplot: no window, works without a display
    except ImportError:
        raise ModuleNotFoundError(
            f"drawing the fit needs matplotlib, which is not installed: pip install {MATPLOTLIB}"
        ) from None
    X = _notebook_data()
    model = _model(**_NOTEBOOK_START)
    trajectory = [model.log_likelihood(X)] + model.fit(X, max_iters=500)
    priors, mus, variances = _checked_parameters(model, 2)

    figure = Figure(figsize=(11, 4.2), dpi=100, layout="constrained")
    data_axes, ll_axes = figure.subplots(1, 2, width_ratios=[3, 2])
    data_axes.hist(X[:, 0], bins=12, density=True, color="0.88", edgecolor="0.6", label="data")
    data_axes.plot(X[:, 0], np.zeros(len(X)), "|", color="k", markersize=14)
    grid = np.linspace(X.min() - 2.0, X.max() + 2.0, 400).reshape(-1, 1)
    clusters = priors * pdf(grid, mus, variances)  # (400, k): prior_j N(x | mu_j, var_j)
    for j in range(clusters.shape[1]):
        label = f"cluster {j + 1}: prior {priors[j]:.3f}, mean {mus[j]:.3f}, var {variances[j]:.3f}"
        data_axes.plot(grid, clusters[:, j], "--", label=label)
    data_axes.plot(grid, clusters.sum(axis=1), color="k", label="mixture")
    data_axes.set(xlabel="x", ylabel="density", title="Your GMM1D on the notebook data (k = 2)")
    data_axes.legend(fontsize="small")

    ll_axes.plot(range(len(trajectory)), trajectory, marker=".", label="log-likelihood")
    fell = [i for i in range(1, len(trajectory)) if trajectory[i] < trajectory[i - 1] - 1e-9]
    if fell:
        ll_axes.plot(fell, [trajectory[i] for i in fell], "x", color="red", label="fell here")
        ll_axes.legend(fontsize="small")
    ll_axes.set(xlabel="EM iteration (0 = start)", ylabel="log-likelihood", title="EM progress")

    path = pathlib.Path(path).resolve()
    figure.savefig(path)
    _show_in_notebook(path)
    return path


def _show_in_notebook(path):
    """In Jupyter, also show the picture below the cell; elsewhere do nothing."""
    ipython = sys.modules.get("IPython")
    if ipython is not None and ipython.get_ipython() is not None:
        from IPython.display import Image, display

        display(Image(filename=str(path)))


def _main(argv=None):
    """``python gmm1d.py [--plot]``: the self-check, then (with --plot) the picture.
    Returns the exit status: the self-check's, or 1 when the fit could not be drawn."""
    parser = argparse.ArgumentParser(description="Check your GMM1D against the lab's contract.")
    parser.add_argument(
        "--plot", action="store_true", help="also fit the notebook data and save gmm1d_fit.png"
    )
    plot = parser.parse_args(argv).plot  # a mistyped option stops here, before any check
    status = self_check()
    if plot:
        print()
        try:
            print(f"Saved the picture of your fit: {plot_fit()}")
        except ModuleNotFoundError as exc:  # no matplotlib: say what to install, status stands
            print(exc)
        except Exception as exc:  # your code failed while fitting: what and where
            print(f"Could not draw the fit: {type(exc).__name__}: {exc}{_where(exc)}")
            status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(_main())
