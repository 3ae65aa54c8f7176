"""Reference solution for Lab 3: EM for a one-dimensional Gaussian mixture.

This is the student stub (``gmm1d.py``) with ``estep`` and ``mstep`` finished.
The grader loads this file in its own, trusted process to compute every expected
value, so it must stay exact and numerically stable:

* the E-step works in log space (log-sum-exp over clusters), so a point far from
  every component gets a finite posterior instead of 0/0;
* the M-step takes the variance about the *new* mean;
* neither step modifies ``X`` or ``gammas``.

Shapes: ``X`` is ``(n_samples, 1)``; ``priors``, ``mus`` and ``variances`` are
``(n_components, 1)`` column vectors; ``gammas`` is ``(n_samples, n_components)``.
"""

import sys

import numpy as np

EPSILON = 1e-12  # keeps the random initial variances away from zero
DELTA = 1e-9  # default convergence threshold for ``fit``

_LOG_2PI = np.log(2.0 * np.pi)


def pdf(X, mu, variance):
    """Gaussian density N(X | mu, variance), elementwise (numpy broadcasting)."""
    return np.exp(-((X - mu) ** 2) / (2.0 * variance)) / np.sqrt(2.0 * np.pi * variance)


def _column(values):
    """Any k-element array or list -> float (k, 1) column vector (a copy)."""
    return np.array(values, dtype=float).reshape(-1, 1)


def _log_joint(X, priors, mus, variances):
    """log(prior_j) + log N(x_i | mu_j, var_j).

    X: (n_samples, 1); priors, mus, variances: (n_components, 1).
    Returns an (n_samples, n_components) array.
    """
    mus = mus.reshape(1, -1)
    variances = variances.reshape(1, -1)
    log_weights = np.log(priors.reshape(1, -1)) - 0.5 * (_LOG_2PI + np.log(variances))
    out = X - mus  # (n, k), a new array: X is never written to
    out *= out
    out *= -0.5 / variances
    out += log_weights
    return out


def _logsumexp_rows(a):
    """log(sum(exp(a), axis=1)) for an (n, k) array, stable; returns (n, 1)."""
    top = a.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    return np.log(np.exp(a - top).sum(axis=1, keepdims=True)) + top


class GMM1D:
    """A mixture of ``num_gaussians`` one-dimensional Gaussians fitted by EM.

    Attributes (all ``(num_gaussians, 1)`` float arrays):
        priors: mixing weights, summing to 1.
        mus: component means.
        variances: component variances.
    """

    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = rng.randn(k, 1)
        self.variances = rng.rand(k, 1) + EPSILON

    def log_likelihood(self, X):
        """Sum over the points of log p(x_i) under the current parameters."""
        X = np.asarray(X, dtype=float)
        log_joint = _log_joint(X, _column(self.priors), _column(self.mus), _column(self.variances))
        return float(_logsumexp_rows(log_joint).sum())

    def estep(self, X):
        """Posterior responsibilities gammas[i, j] = P(cluster j | x_i).

        X: (n_samples, 1). Returns an (n_samples, num_gaussians) array whose rows
        are probability vectors. Raises ValueError when X is not 2-D.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        log_joint = _log_joint(X, _column(self.priors), _column(self.mus), _column(self.variances))
        log_joint -= _logsumexp_rows(log_joint)
        return np.exp(log_joint, out=log_joint)

    def mstep(self, X, gammas):
        """Maximum-likelihood update of priors, mus and variances, in place.

        X: (n_samples, 1); gammas: (n_samples, num_gaussians). Returns None.
        The variance is the gamma-weighted mean squared deviation from the NEW mean.
        """
        X = np.asarray(X, dtype=float)
        gammas = np.asarray(gammas, dtype=float)
        n_k = gammas.sum(axis=0)  # (k,) soft counts
        mus = (gammas * X).sum(axis=0) / n_k
        dev = X - mus  # (n, k), a new array
        dev *= dev
        dev *= gammas
        variances = dev.sum(axis=0) / n_k
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)

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
