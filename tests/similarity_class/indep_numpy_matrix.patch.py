"""Check your work with ``python gmm1d.py``: it prints one PASS/FAIL line per check and exits
with status 0 only when every check passes. HANDOUT.md explains the lab and the grading.
"""

import os


class GMM1D:
    def estep(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        n, k = X.shape[0], self.num_gaussians
        Xm = np.asmatrix(X)                                   # (n, 1)
        ones_k = np.asmatrix(np.ones((1, k)))
        mus = np.asmatrix(self.mus).reshape(1, k)
        variances = np.asmatrix(self.variances).reshape(1, k)
        priors = np.asmatrix(self.priors).reshape(1, k)
        diff = Xm * ones_k - np.asmatrix(np.ones((n, 1))) * mus    # (n, k) via outer products
        dens = np.multiply(np.exp(-np.multiply(diff, diff) / (2 * variances)),
                           1 / np.sqrt(2 * np.pi * variances))
        joint = np.multiply(dens, priors)
        return np.asarray(joint / joint.sum(axis=1))           # back to a plain ndarray

    def mstep(self, X, gammas):
        G = np.asmatrix(gammas)                               # (n, k)
        Xm = np.asmatrix(X)                                   # (n, 1)
        n = G.shape[0]
        n_k = G.sum(axis=0)                                   # (1, k)
        mus = (Xm.T * G) / n_k                                # (1, k)
        diff = Xm - mus                                       # (n, k)
        variances = np.multiply(G, np.multiply(diff, diff)).sum(axis=0) / n_k
        self.priors = np.asarray(n_k.T / n)
        self.mus = np.asarray(mus.T)
        self.variances = np.asarray(variances.T)
