"""Bug: normalises over the wrong axis."""


class GMM1D:
    def estep(self, X):
        X = np.asarray(X, dtype=float)

        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)
        return joint / joint.sum(axis=0, keepdims=True)

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
