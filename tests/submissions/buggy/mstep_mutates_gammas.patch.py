"""Bug: normalises gammas in place in the M-step."""


class GMM1D:
    def estep(self, X):
        """gammas (n, k): gammas[i, j] = P(cluster j | x_i)."""
        X = np.asarray(X, dtype=float)
        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)  # (n, k)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        n_k = gammas.sum(axis=0)  # (k,)
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
        gammas /= n_k  # in place: column j now sums to 1
        mus = (gammas * X).sum(axis=0)
        self.mus = mus.reshape(-1, 1)
        self.variances = (gammas * (X - mus) ** 2).sum(axis=0).reshape(-1, 1)
