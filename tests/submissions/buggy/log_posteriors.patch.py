"""Bug: estep returns the log of the posteriors."""


class GMM1D:
    def estep(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        log_joint = np.log(self.priors.T) + np.log(pdf(X, self.mus.T, self.variances.T))
        top = log_joint.max(axis=1, keepdims=True)
        return log_joint - (top + np.log(np.exp(log_joint - top).sum(axis=1, keepdims=True)))

    def mstep(self, X, gammas):
        n_k = gammas.sum(axis=0)  # (k,)
        mus = (gammas * X).sum(axis=0) / n_k
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_k
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
