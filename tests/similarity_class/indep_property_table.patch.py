"""Check your work with ``python gmm1d.py``: it prints one PASS/FAIL line per check and exits
with status 0 only when every check passes. HANDOUT.md explains the lab and the grading.
"""

import os


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.theta = np.empty((k, 3))   # columns: prior, mean, variance
        self.theta[:, 0] = 1.0 / k
        self.theta[:, 1] = rng.randn(k)
        self.theta[:, 2] = rng.rand(k) + EPSILON

    def estep(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        prior, mu, var = self.theta.T          # three (k,) rows
        joint = prior * pdf(X, mu, var)        # (n, 1) against (k,) -> (n, k)
        return joint / joint.sum(axis=1)[:, None]

    def mstep(self, X, gammas):
        n_k = gammas.sum(axis=0)
        mu = gammas.T @ X[:, 0] / n_k
        var = np.sum(gammas * np.square(X - mu), axis=0) / n_k
        self.theta = np.column_stack([n_k / len(X), mu, var])

    @added
    @property
    def priors(self):
        return self.theta[:, 0:1]

    @added
    @priors.setter
    def priors(self, value):
        self.theta[:, 0] = np.ravel(value)

    @added
    @property
    def mus(self):
        return self.theta[:, 1:2]

    @added
    @mus.setter
    def mus(self, value):
        self.theta[:, 1] = np.ravel(value)

    @added
    @property
    def variances(self):
        return self.theta[:, 2:3]

    @added
    @variances.setter
    def variances(self, value):
        self.theta[:, 2] = np.ravel(value)
