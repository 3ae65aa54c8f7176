"""Lab 3: EM for a one-dimensional Gaussian mixture.

Student version: scipy.stats.norm for the densities, np.average for the weighted moments.
"""

import numpy as np
from scipy.stats import norm

EPSILON = 1e-12  # keeps the random initial variances away from zero
DELTA = 1e-9  # default convergence threshold for ``fit``


def pdf(X, mu, variance):
    """Gaussian density N(X | mu, variance), elementwise."""
    return np.exp(-((X - mu) ** 2) / (2.0 * variance)) / np.sqrt(2.0 * np.pi * variance)


class GMM1D:
    """A mixture of ``num_gaussians`` one-dimensional Gaussians, fitted by EM."""

    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = rng.randn(k, 1)
        self.variances = rng.rand(k, 1) + EPSILON

    def log_likelihood(self, X):
        """The SUM over the points of log p(x_i) under the current parameters, a float."""
        X = np.asarray(X, dtype=float).reshape(-1, 1)  # (n, 1)
        priors = np.reshape(self.priors, (1, -1))  # (1, k)
        mus = np.reshape(self.mus, (1, -1))  # (1, k)
        variances = np.reshape(self.variances, (1, -1))  # (1, k)
        log_joint = (
            np.log(priors)
            - 0.5 * np.log(2.0 * np.pi * variances)
            - (X - mus) ** 2 / (2.0 * variances)
        )
        top = np.max(log_joint, axis=1, keepdims=True)  # (n, 1)
        top[~np.isfinite(top)] = 0.0
        log_p = top + np.log(np.sum(np.exp(log_joint - top), axis=1, keepdims=True))
        return float(np.sum(log_p))

    def estep(self, X):
        densities = norm.pdf(X, loc=self.mus.T, scale=np.sqrt(self.variances.T))  # (n, k)
        joint = densities * self.priors.T
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        k = gammas.shape[1]
        x = X.ravel()
        self.priors = gammas.mean(axis=0).reshape(k, 1)
        self.mus = np.array([np.average(x, weights=gammas[:, j]) for j in range(k)]).reshape(k, 1)
        self.variances = np.array(
            [np.average((x - self.mus[j, 0]) ** 2, weights=gammas[:, j]) for j in range(k)]
        ).reshape(k, 1)

    def em(self, X):
        """One EM iteration: an E-step followed by an M-step."""
        self.mstep(X, self.estep(X))

    def fit(self, X, max_iters=1000, delta=DELTA):
        """Run EM until the log-likelihood changes by at most ``delta``."""
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
