"""Correct: the hint's EPSILONs, and the variance as E[x^2] - mu^2."""


class GMM1D:
    def estep(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)
        return joint / (joint.sum(axis=1, keepdims=True) + EPSILON)

    def mstep(self, X, gammas):
        n = X.shape[0]
        n_k = gammas.sum(axis=0) + EPSILON
        mus = (gammas * X).sum(axis=0) / n_k
        second_moment = (gammas * X**2).sum(axis=0) / n_k
        variances = second_moment - mus**2 + EPSILON  # Var = E[x^2] - E[x]^2
        self.priors = (n_k / n).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
