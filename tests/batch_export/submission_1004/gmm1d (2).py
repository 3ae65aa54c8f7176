"""A buggy upload, saved by the browser as "gmm1d (2).py": the E-step leaves out the priors
and the M-step spreads the variances about the OLD means."""

import numpy as np

EPSILON = 1e-12


def pdf(X, mu, variance):
    return np.exp(-((X - mu) ** 2) / (2.0 * variance)) / np.sqrt(2.0 * np.pi * variance)


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = rng.randn(k, 1)
        self.variances = rng.rand(k, 1) + EPSILON

    def estep(self, X):
        joint = pdf(X, self.mus.T, self.variances.T)  # bug: no priors
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        n_k = gammas.sum(axis=0)
        old_mus = self.mus.T
        self.variances = ((gammas * (X - old_mus) ** 2).sum(axis=0) / n_k).reshape(-1, 1)  # bug: old means
        self.mus = ((gammas * X).sum(axis=0) / n_k).reshape(-1, 1)
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
