"""Student version: plain loops over points and clusters, no broadcasting."""

import math


class GMM1D:
    def estep(self, X):
        n = X.shape[0]
        k = self.num_gaussians
        gammas = np.zeros((n, k))
        for i in range(n):
            x = float(X[i, 0])
            joint = []
            for j in range(k):
                prior = float(self.priors[j, 0])
                mu = float(self.mus[j, 0])
                var = float(self.variances[j, 0])
                density = math.exp(-(x - mu) ** 2 / (2 * var)) / math.sqrt(2 * math.pi * var)
                joint.append(prior * density)
            total = sum(joint)
            for j in range(k):
                gammas[i, j] = joint[j] / total
        return gammas

    def mstep(self, X, gammas):
        n, k = gammas.shape
        priors = np.zeros((k, 1))
        mus = np.zeros((k, 1))
        variances = np.zeros((k, 1))
        for j in range(k):
            n_j = 0.0
            weighted_sum = 0.0
            for i in range(n):
                n_j += gammas[i, j]
                weighted_sum += gammas[i, j] * X[i, 0]
            mu = weighted_sum / n_j
            squares = 0.0
            for i in range(n):
                squares += gammas[i, j] * (X[i, 0] - mu) ** 2
            priors[j, 0] = n_j / n
            mus[j, 0] = mu
            variances[j, 0] = squares / n_j
        self.priors = priors
        self.mus = mus
        self.variances = variances
