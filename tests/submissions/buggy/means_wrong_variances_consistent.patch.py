"""Bug: the means divide by n instead of the soft count; the variances are computed correctly about those (wrong) means."""


class GMM1D:
    def estep(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)  # (n, k)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        n_k = gammas.sum(axis=0)  # (k,)
        mus = (gammas * X).sum(axis=0) / X.shape[0]
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_k
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
