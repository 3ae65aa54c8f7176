"""Bug: the M-step's priors are the soft counts divided by k (the number of clusters), not by n."""


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
        k = self.num_gaussians
        n_j = gammas.sum(axis=0)  # (k,) soft counts
        mus = (gammas * X).sum(axis=0) / n_j
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_j
        self.priors = (n_j / k).reshape(-1, 1)  # the bug: the soft counts over k, not over n
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
