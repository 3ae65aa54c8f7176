"""Correct: math.sqrt of a (1, 1) array, which numpy 2.2 allows (numpy 2.4 refuses): the grade must not
depend on the Python that grades."""

import math


class GMM1D:
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
        n, k = X.shape[0], self.num_gaussians
        joint = np.zeros((n, k))
        for j in range(k):
            # self.variances[j : j + 1] is a (1, 1) array: math.sqrt turns it into a float on
            # numpy 2.2 (with a DeprecationWarning); numpy 2.4 refuses with a TypeError.
            sd = math.sqrt(self.variances[j : j + 1])
            mu = float(self.mus[j, 0])
            density = np.exp(-((X[:, 0] - mu) ** 2) / (2.0 * sd * sd)) / (
                sd * math.sqrt(2 * math.pi)
            )
            joint[:, j] = self.priors[j, 0] * density
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        """M-step: the maximum-likelihood parameters for the given posteriors, in place.

        X: (n, 1); gammas: (n, k), as returned by ``estep``. Replaces self.priors, self.mus
        and self.variances with (k, 1) arrays and returns None. Modifies neither X nor
        gammas.
        """
        n_j = gammas.sum(axis=0)  # (k,) soft counts
        mus = (gammas * X).sum(axis=0) / n_j
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_j
        self.priors = (n_j / X.shape[0]).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
