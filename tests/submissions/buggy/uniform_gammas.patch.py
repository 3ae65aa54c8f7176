"""Bug: a placeholder E-step that returns uniform posteriors."""


class GMM1D:
    def estep(self, X):
        n = X.shape[0]
        k = self.num_gaussians
        return np.ones((n, k)) / k

    def mstep(self, X, gammas):
        """New priors, mus, variances ((k, 1) each) from X (n, 1) and gammas (n, k)."""
        X = np.asarray(X, dtype=float)
        gammas = np.asarray(gammas, dtype=float)
        n_k = gammas.sum(axis=0)  # (k,) soft counts
        mus = (gammas * X).sum(axis=0) / n_k
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_k
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
