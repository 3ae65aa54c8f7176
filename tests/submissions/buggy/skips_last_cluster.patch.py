"""Bug: mstep's loop stops one cluster short (range(k - 1)): the last cluster keeps its old values."""


class GMM1D:
    def estep(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)  # (n, k)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        n = X.shape[0]
        for j in range(self.num_gaussians - 1):
            g = gammas[:, [j]]
            n_j = g.sum()
            self.priors[j] = n_j / n
            self.mus[j] = (g * X).sum() / n_j
            self.variances[j] = (g * (X - self.mus[j]) ** 2).sum() / n_j
