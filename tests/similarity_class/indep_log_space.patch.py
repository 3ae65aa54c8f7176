"""Student version: log space throughout the E-step, matrix products in the M-step."""


def my_logsumexp(a):
    """log(sum(exp(a), axis=1)) for an (n, k) array, as an (n, 1) column."""
    biggest = np.max(a, axis=1, keepdims=True)
    return biggest + np.log(np.sum(np.exp(a - biggest), axis=1, keepdims=True))


class GMM1D:
    def estep(self, X):
        X = np.asarray(X, dtype=float)
        log_prior = np.log(self.priors).T  # (1, k)
        log_norm = -0.5 * np.log(2 * np.pi * self.variances).T  # (1, k)
        log_joint = log_prior + log_norm - (X - self.mus.T) ** 2 / (2 * self.variances.T)
        return np.exp(log_joint - my_logsumexp(log_joint))

    def mstep(self, X, gammas):
        n = X.shape[0]
        n_k = gammas.T @ np.ones((n, 1))  # (k, 1)
        self.mus = (gammas.T @ X) / n_k
        self.variances = np.einsum("ij,ij->j", gammas, (X - self.mus.T) ** 2)[:, None] / n_k
        self.priors = n_k / n
