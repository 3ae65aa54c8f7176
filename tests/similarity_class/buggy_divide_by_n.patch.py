"""Bug: divides by n instead of the soft counts."""


class GMM1D:
    def estep(self, X):
        """gammas (n, k): gammas[i, j] = P(cluster j | x_i)."""
        X = np.asarray(X, dtype=float)
        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)  # (n, k)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        X = np.asarray(X, dtype=float)
        gammas = np.asarray(gammas, dtype=float)

        n = X.shape[0]
        n_k = gammas.sum(axis=0)
        mus = (gammas * X).sum(axis=0) / n
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n
        self.priors = (n_k / n).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
