"""A correct upload written the way a student might (not the reference's code)."""

import numpy as np

EPSILON = 1e-12


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = rng.randn(k, 1)
        self.variances = rng.rand(k, 1) + EPSILON

    def estep(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError("X must be (n, 1)")
        mus = self.mus.reshape(1, -1)
        var = self.variances.reshape(1, -1)
        log_joint = np.log(self.priors.reshape(1, -1)) - 0.5 * np.log(2 * np.pi * var) - (X - mus) ** 2 / (2 * var)
        top = log_joint.max(axis=1, keepdims=True)
        joint = np.exp(log_joint - top)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        X = np.asarray(X, dtype=float)
        n_k = gammas.sum(axis=0)
        mus = (gammas * X).sum(axis=0) / n_k
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_k
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
