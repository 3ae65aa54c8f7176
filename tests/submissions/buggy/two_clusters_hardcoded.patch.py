"""Bug: the two-cluster hint copied, works for k = 2 only."""


class GMM1D:
    def estep(self, X):
        p1 = self.priors[0] * pdf(X, self.mus[0], self.variances[0])
        p2 = self.priors[1] * pdf(X, self.mus[1], self.variances[1])
        total = p1 + p2
        return np.hstack([p1 / total, p2 / total])

    def mstep(self, X, gammas):
        n = X.shape[0]
        g1 = gammas[:, 0:1]
        g2 = gammas[:, 1:2]
        n1 = np.sum(g1)
        n2 = np.sum(g2)
        mu1 = np.sum(g1 * X) / n1
        mu2 = np.sum(g2 * X) / n2
        var1 = np.sum(g1 * (X - mu1) ** 2) / n1
        var2 = np.sum(g2 * (X - mu2) ** 2) / n2
        self.priors = np.array([[n1 / n], [n2 / n]])
        self.mus = np.array([[mu1], [mu2]])
        self.variances = np.array([[var1], [var2]])
