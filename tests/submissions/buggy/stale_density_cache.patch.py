"""Bug: estep caches its table of densities on self, and reuses it after mstep changed the parameters."""


class GMM1D:
    def estep(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        if getattr(self, "_densities", None) is None or self._densities.shape[0] != X.shape[0]:
            self._densities = pdf(X, self.mus.T, self.variances.T)  # (n, k), kept for speed
        joint = self.priors.T * self._densities
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        n_k = gammas.sum(axis=0)  # (k,)
        mus = (gammas * X).sum(axis=0) / n_k
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_k
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
