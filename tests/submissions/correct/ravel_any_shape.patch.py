"""Correct: X raveled (any shape); gammas returned as a transposed view."""


class GMM1D:
    def estep(self, X):
        x = np.asarray(X, dtype=float).ravel()  # (n,), works for (n,) and (n, 1)
        priors = np.asarray(self.priors, dtype=float).ravel()[:, None]  # (k, 1)
        mus = np.asarray(self.mus, dtype=float).ravel()[:, None]
        variances = np.asarray(self.variances, dtype=float).ravel()[:, None]
        joint_kn = priors * pdf(x[None, :], mus, variances)  # (k, n)
        post_kn = joint_kn / joint_kn.sum(axis=0)
        return post_kn.T  # (n, k), a non-contiguous view

    def mstep(self, X, gammas):
        x = np.asarray(X, dtype=float).ravel()
        g = np.asarray(gammas, dtype=float)
        n_k = g.sum(axis=0)
        mus = x @ g / n_k
        variances = ((x[:, None] - mus) ** 2 * g).sum(axis=0) / n_k
        self.priors = (n_k / x.size).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
