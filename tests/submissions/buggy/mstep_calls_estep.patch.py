"""Bug: the M-step recomputes the gammas instead of using its argument."""


class GMM1D:
    def estep(self, X):
        """gammas (n, k): gammas[i, j] = P(cluster j | x_i)."""
        X = np.asarray(X, dtype=float)
        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)  # (n, k)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        X = np.asarray(X, dtype=float)
        gammas = self.estep(X)  # "to be safe"
        n_k = gammas.sum(axis=0)
        mus = (gammas * X).sum(axis=0) / n_k
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_k
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
