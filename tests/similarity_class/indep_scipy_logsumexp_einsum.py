"""Lab 3: EM for a one-dimensional Gaussian mixture (your starter file).

Your job: finish ``GMM1D.estep`` and ``GMM1D.mstep`` below, for ANY number of clusters.
Everything else in this file already works; leave it as it is. Submit only this file.

Check your work with ``python gmm1d.py``: it prints one PASS/FAIL line per check and exits
with status 0 only when every check passes. HANDOUT.md explains the lab and the grading.

Shapes used throughout (n = number of points, k = number of clusters):
    X                                  (n, 1)   one data point per row
    self.priors, self.mus, self.variances   (k, 1)   one cluster per row
    gammas                             (n, k)   gammas[i, j] = P(cluster j | x_i)
"""

import os
import sys
import traceback

import numpy as np
from scipy.special import logsumexp

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
        # log of prior * N(x | mu, var) for every point and cluster, (n, k)
        log_joint = (np.log(self.priors.T)
                     - 0.5 * np.log(2 * np.pi * self.variances.T)
                     - (X - self.mus.T) ** 2 / (2 * self.variances.T))
        log_evidence = logsumexp(log_joint, axis=1, keepdims=True)  # (n, 1)
        return np.exp(log_joint - log_evidence)

    def mstep(self, X, gammas):
        """M-step: the maximum-likelihood parameters for the given posteriors, in place.

        X: (n, 1); gammas: (n, k), as returned by ``estep``. Replaces self.priors, self.mus
        and self.variances with (k, 1) arrays and returns None. Modifies neither X nor
        gammas.
        """
        x = np.asarray(X, dtype=float)[:, 0]
        n = x.shape[0]
        n_k = np.einsum("ij->j", gammas)                      # soft counts
        mus = np.einsum("ij,i->j", gammas, x) / n_k
        variances = np.einsum("ij,ij->j", gammas, (x[:, None] - mus) ** 2) / n_k
        variances = np.maximum(variances, 1e-10)              # never a zero variance
        self.priors = (n_k / n)[:, None]
        self.mus = mus[:, None]
        self.variances = variances[:, None]

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
# Self-check: `python gmm1d.py`. Nothing below runs when the file is imported (the grader
# imports it). Every expected value is typed in from published answers or follows from
# Bayes' rule with pdf above; none comes from a model solution.
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


class _CheckFailed(Exception):
    """A check's expectation was not met; the message says what was expected and found."""


def _expect(condition, message):
    if not condition:
        raise _CheckFailed(message)


def _fmt(values):
    """A short, readable rendering of an array: up to 8 numbers to 11 significant digits."""
    flat = np.asarray(values, dtype=float).ravel()
    shown = ", ".join(f"{v:.11g}" for v in flat[:8])
    return f"[{shown}{', ...' if flat.size > 8 else ''}]"


def _model(priors, mus, variances):
    """A GMM1D with the given parameters stored as (k, 1) columns."""
    model = GMM1D(len(priors), seed=0)
    model.priors = np.array(priors, dtype=float).reshape(-1, 1)
    model.mus = np.array(mus, dtype=float).reshape(-1, 1)
    model.variances = np.array(variances, dtype=float).reshape(-1, 1)
    return model


def _column(values):
    return np.array(values, dtype=float).reshape(-1, 1)


def _checked_gammas(model, X):
    """Call estep and check the basics every later check relies on."""
    gammas = model.estep(X)
    n, k = X.shape[0], model.num_gaussians
    _expect(isinstance(gammas, np.ndarray),
            f"estep should return a numpy array of shape ({n}, {k}), got {type(gammas).__name__}")
    _expect(gammas.shape == (n, k),
            f"estep should return shape (n, k) = ({n}, {k}), got {gammas.shape}")
    return gammas


def _checked_parameters(model, k):
    """The three parameters after mstep as flat arrays, each checked to hold k numbers."""
    found = []
    for name in ("priors", "mus", "variances"):
        value = np.asarray(getattr(model, name), dtype=float)
        _expect(value.size == k,
                f"after mstep, self.{name} should hold {k} numbers (a ({k}, 1) column), got "
                f"shape {value.shape}")
        found.append(value.ravel())
    return found


def _check_estep_example():
    ex = _EXAMPLE
    X = _column(ex["X"])
    gammas = _checked_gammas(_model(ex["priors"], ex["mus"], ex["variances"]), X)
    expected = np.array(ex["gamma1"])
    error = np.max(np.abs(gammas[:, 0] - expected))
    _expect(error <= 1e-9, f"expected P(cluster 1 | x) = {_fmt(expected)}, got {_fmt(gammas[:, 0])}")
    _expect(np.max(np.abs(gammas[:, 1] - (1.0 - expected))) <= 1e-9,
            f"expected P(cluster 2 | x) = {_fmt(1.0 - expected)}, got {_fmt(gammas[:, 1])}")
    return f"P(cluster 1 | x) = {_fmt(gammas[:, 0])} as published"


def _check_mstep_example():
    ex = _EXAMPLE
    X = _column(ex["X"])
    gamma1 = np.array(ex["gamma1"])
    gammas = np.column_stack([gamma1, 1.0 - gamma1])
    X_before, gammas_before = X.copy(), gammas.copy()
    model = _model(ex["priors"], ex["mus"], ex["variances"])
    model.mstep(X, gammas)
    _expect(np.array_equal(X, X_before) and np.array_equal(gammas, gammas_before),
            "mstep must not modify X or gammas, but it changed them")
    found = _checked_parameters(model, 2)
    for name, got in zip(("priors", "mus", "variances"), found):
        expected = np.array(ex["new_" + name])
        _expect(np.all(np.abs(got - expected) <= ex["tolerance"]),
                f"expected {name} = {_fmt(expected)}, got {_fmt(got)}")
    return "priors {}, mus {}, variances {} as published".format(*(_fmt(f) for f in found))


def _check_em_exercise():
    ex = _EXERCISE
    X = _column(ex["X"])
    model = _model(ex["priors"], ex["mus"], ex["variances"])
    gammas = _checked_gammas(model, X)
    more_likely = list(np.argmax(gammas, axis=1) + 1)
    _expect(more_likely == ex["more_likely_cluster"],
            f"expected the more likely cluster per point to be {ex['more_likely_cluster']}, "
            f"got {more_likely}")
    _expect(abs(gammas[3, 0] - ex["gamma1_at_5"]) <= 1e-9,
            f"expected P(cluster 1 | x = 5) = 2/3, got {gammas[3, 0]!r}")
    model.mstep(X, gammas)
    found = _checked_parameters(model, 2)
    for name, got in zip(("priors", "mus", "variances"), found):
        expected = np.array(ex["new_" + name])
        # 1e-6: p(x = -1) is only ~3.4e-5, so code that adds EPSILON to its denominators
        # (as the hint does) is off by ~3e-8 here, and that is fine.
        _expect(np.all(np.abs(got - expected) <= 1e-6),
                f"after one EM iteration expected {name} = {_fmt(expected)}, got {_fmt(got)}")
    return "after one EM iteration: priors {}, mus {}, variances {} as published".format(
        *(_fmt(f) for f in found))


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
    before = [a.copy() for a in (X, model.priors, model.mus, model.variances)]
    gammas = _checked_gammas(model, X)
    after = (X, model.priors, model.mus, model.variances)
    _expect(all(np.array_equal(a, b) for a, b in zip(before, after)),
            "estep must not modify X, self.priors, self.mus or self.variances, but it did")
    _expect(np.all(np.isfinite(gammas)), "expected finite posteriors, got NaN or inf")
    _expect(np.all(gammas >= 0.0), f"expected posteriors >= 0, got a minimum of {gammas.min()!r}")
    sums = gammas.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    _expect(abs(sums[worst] - 1.0) <= 1e-6,
            f"expected every row to sum to 1, row {worst} sums to {sums[worst]!r}")
    # Bayes' rule written with pdf, for comparison.
    joint = model.priors.T * pdf(X, model.mus.T, model.variances.T)
    expected = joint / joint.sum(axis=1, keepdims=True)
    error = np.abs(gammas - expected)
    i, j = np.unravel_index(int(np.argmax(error)), error.shape)
    _expect(error[i, j] <= 1e-6,
            f"expected gammas[{i}, {j}] = {expected[i, j]!r} (Bayes' rule), got {gammas[i, j]!r}")
    return f"shape (200, {k}), rows are probability vectors, values follow Bayes' rule"


def _synthetic_data(k, rng, per_cluster=150):
    """Points from k well-separated clusters on roughly the scale of the random start."""
    centres = np.linspace(-(k - 1.0), k - 1.0, k)  # 2 apart
    points = [c + 0.3 * rng.randn(per_cluster) for c in centres]
    return _column(np.concatenate(points))


def _check_em_increases(k):
    rng = np.random.RandomState(200 + k)
    X = _synthetic_data(k, rng)
    model = GMM1D(k, seed=k)
    trajectory = [model.log_likelihood(X)] + model.fit(X, max_iters=300)
    _checked_parameters(model, k)
    for step, (old, new) in enumerate(zip(trajectory, trajectory[1:]), start=1):
        _expect(np.isfinite(new), f"expected a finite log-likelihood, got {new!r} after iteration {step}")
        _expect(new >= old - 1e-9 * max(1.0, abs(old)),
                f"expected the log-likelihood never to decrease, it fell from {old!r} to {new!r} "
                f"at iteration {step}")
    return (f"{X.shape[0]} points, {len(trajectory) - 1} iterations, log-likelihood "
            f"{trajectory[0]:.4f} -> {trajectory[-1]:.4f}, never decreased")


_CHECKS = (
    [("E-step, worked example (6.86x 'An Example Update')", _check_estep_example),
     ("M-step, worked example (6.86x 'An Example Update')", _check_mstep_example),
     ("one EM iteration, 6.86x exercise 'EM Algorithm'", _check_em_exercise)]
    + [(f"E-step, k = {k}", lambda k=k: _check_estep_general(k)) for k in range(1, 7)]
    + [(f"EM on synthetic data, k = {k}", lambda k=k: _check_em_increases(k)) for k in range(2, 7)]
)


def _where(exc):
    """' (gmm1d.py line N: code)' for the innermost frame of this file in exc's traceback."""
    this_file = os.path.abspath(__file__)
    here = [f for f in traceback.extract_tb(exc.__traceback__)
            if os.path.abspath(f.filename) == this_file]
    if not here:
        return ""
    frame = here[-1]
    return f" (in {frame.name}, line {frame.lineno}: {(frame.line or '').strip()})"


def _self_check():
    """Run every check, print one PASS/FAIL line each; return 0 if all pass, else 1."""
    failures, unwritten = 0, []
    for name, check in _CHECKS:
        try:
            detail = check()
            status = "PASS"
        except _CheckFailed as exc:
            status, detail = "FAIL", str(exc)
        except NotImplementedError as exc:
            status, detail = "FAIL", str(exc).split(":")[0] + " (it raises NotImplementedError)"
            unwritten += [m for m in ("GMM1D.estep", "GMM1D.mstep")
                          if detail.startswith(m) and m not in unwritten]
        except Exception as exc:  # a bug in estep/mstep: say what and where, no traceback
            status, detail = "FAIL", f"raised {type(exc).__name__}: {exc}{_where(exc)}"
        failures += status == "FAIL"
        print(f"{status}  {name}: {detail}")
    print()
    if unwritten:
        verb = "raises" if len(unwritten) == 1 else "raise"
        print(f"Not written yet: {' and '.join(unwritten)} still {verb} NotImplementedError. Replace "
              "each `raise NotImplementedError(...)` with your code (the comments above it say "
              "what to compute; HANDOUT.md has the formulas), then run `python gmm1d.py` again.")
    if failures:
        print(f"{failures} of {len(_CHECKS)} checks failed.")
        return 1
    print(f"All {len(_CHECKS)} checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(_self_check())
