"""Bug: priors are the soft counts, not their mean."""


class GMM1D:
    def estep(self, X):
        """gammas (n, k): gammas[i, j] = P(cluster j | x_i)."""
        X = np.asarray(X, dtype=float)
        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)  # (n, k)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        X = np.asarray(X, dtype=float)
        gammas = np.asarray(gammas, dtype=float)

        n_k = gammas.sum(axis=0)
        mus = (gammas * X).sum(axis=0) / n_k
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_k
        self.priors = n_k.reshape(-1, 1)  # forgot / n
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
