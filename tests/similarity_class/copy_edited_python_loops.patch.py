"""Student version: plain loops over points and clusters, no broadcasting."""

import math


class GMM1D:
    def log_likelihood(self, X):
        """The SUM over the points of log p(x_i) under the current parameters, a float."""
        X = np.asarray(X, dtype=float).reshape(-1, 1)  # (n, 1)
        priors = np.reshape(self.priors, (1, -1))  # (1, k)
        mus = np.reshape(self.mus, (1, -1))  # (1, k)
        variances = np.reshape(self.variances, (1, -1))  # (1, k)
        log_parts = (
            np.log(priors)
            - 0.5 * np.log(2.0 * np.pi * variances)
            - (X - mus) ** 2 / (2.0 * variances)
        )
        top = np.max(log_parts, axis=1, keepdims=True)  # (n, 1)
        top[~np.isfinite(top)] = 0.0
        log_p = top + np.log(np.sum(np.exp(log_parts - top), axis=1, keepdims=True))
        return float(np.sum(log_p))

    def estep(self, X):
        n = X.shape[0]
        k = self.num_gaussians
        gammas = np.zeros((n, k))
        for i in range(n):
            x = float(X[i, 0])
            parts = []
            for j in range(k):
                prior = float(self.priors[j, 0])
                mu = float(self.mus[j, 0])
                var = float(self.variances[j, 0])
                dens = math.exp(-(x - mu) ** 2 / (2 * var)) / math.sqrt(2 * math.pi * var)
                parts.append(prior * dens)
            total = 0.0
            for p in parts:
                total += p
            for j in range(k):
                gammas[i, j] = parts[j] / total
        return gammas

    def mstep(self, X, gammas):
        # update every cluster in turn
        n, k = gammas.shape
        mus = np.zeros((k, 1))
        priors = np.zeros((k, 1))
        variances = np.zeros((k, 1))
        for j in range(k):
            n_j = 0.0
            acc = 0.0
            for i in range(n):
                n_j += gammas[i, j]
                acc += gammas[i, j] * X[i, 0]
            mu = acc / n_j
            sq_acc = 0.0
            for i in range(n):
                sq_acc += gammas[i, j] * (X[i, 0] - mu) ** 2
            priors[j, 0] = n_j / n
            mus[j, 0] = mu
            variances[j, 0] = sq_acc / n_j
        self.priors = priors
        self.mus = mus
        self.variances = variances
