"""Hostile: a memory bomb in the E-step."""


class GMM1D:
    def estep(self, X):
        hoard = []
        for _ in range(48):  # 12 GB in 256 MB blocks, written to
            hoard.append(np.ones(32 * 1024 * 1024))
        n, k = X.shape[0], self.num_gaussians
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
