"""Correct: parameters as (k, 1) nested python lists."""


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        # Kept as (k, 1) nested python lists: [[p1], [p2], ...]
        self.priors = (np.ones((k, 1)) / k).tolist()
        self.mus = rng.randn(k, 1).tolist()
        self.variances = (rng.rand(k, 1) + EPSILON).tolist()

    def estep(self, X):
        """Posterior responsibilities, one row per point: (n, k)."""
        if np.ndim(X) != 2:
            raise ValueError("X must be a 2-D (n, 1) array")
        n, k = X.shape[0], self.num_gaussians
        joint = np.zeros((n, k))
        for j in range(k):
            prior, mu, var = self.priors[j][0], self.mus[j][0], self.variances[j][0]
            joint[:, j] = prior * pdf(X[:, 0], mu, var)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        """Maximum-likelihood update, stored back as (k, 1) nested lists."""
        n, k = X.shape[0], self.num_gaussians
        x = X[:, 0]
        priors, mus, variances = [], [], []
        for j in range(k):
            g = gammas[:, j]
            n_j = g.sum()
            mu = (g * x).sum() / n_j
            priors.append([float(n_j / n)])
            mus.append([float(mu)])
            variances.append([float((g * (x - mu) ** 2).sum() / n_j)])
        self.priors, self.mus, self.variances = priors, mus, variances
