"""estep prints exactly 100 MiB to stdout; mstep writes bytes that are not UTF-8 (and a NUL) to fd 1."""
import os
import sys

import numpy as np


class GMM1D:
    """A small correct implementation (parameters stored as (k, 1) columns)."""

    def __init__(self, num_gaussians):
        k = num_gaussians
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = np.random.randn(k, 1)
        self.variances = np.random.rand(k, 1) + 1e-12

    def estep(self, X):
        p, m, v = (np.asarray(a, float).reshape(1, -1) for a in (self.priors, self.mus, self.variances))
        joint = p * np.exp(-((X - m) ** 2) / (2 * v)) / np.sqrt(2 * np.pi * v)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        n_k = gammas.sum(axis=0)
        mus = (gammas * X).sum(axis=0) / n_k
        self.variances = ((gammas * (X - mus) ** 2).sum(axis=0) / n_k).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)

    _estep = estep
    _mstep = mstep

    def estep(self, X):  # noqa: F811
        chunk = "x" * (1 << 20)
        for _ in range(100):
            sys.stdout.write(chunk)
        return self._estep(X)

    def mstep(self, X, gammas):  # noqa: F811
        os.write(1, b"caf\xe9 \xff\xfe\x00 end\n")
        print("done")
        self._mstep(X, gammas)
