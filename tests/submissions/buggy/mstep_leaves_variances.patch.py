"""Bug: the M-step updates the priors and means but never re-estimates the variances."""


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
        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)  # (n, k)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        """M-step: the maximum-likelihood parameters for the given posteriors, in place.

        X: (n, 1); gammas: (n, k), as returned by ``estep``. Replaces self.priors, self.mus
        and self.variances with (k, 1) arrays and returns None. Modifies neither X nor
        gammas.
        """
        n_j = gammas.sum(axis=0)  # (k,) soft counts
        self.priors = (n_j / X.shape[0]).reshape(-1, 1)
        self.mus = ((gammas * X).sum(axis=0) / n_j).reshape(-1, 1)
