"""Student version: priors, mus and variances are python lists of floats."""


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = [1.0 / k] * k
        self.mus = [float(m) for m in rng.randn(k)]
        self.variances = [float(v) + EPSILON for v in rng.rand(k)]

    def estep(self, X):
        columns = [p * pdf(X[:, 0], m, v) for p, m, v in zip(self.priors, self.mus, self.variances)]
        joint = np.stack(columns, axis=1)  # (n, k)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        x = X[:, 0]
        n = len(x)
        priors, mus, variances = [], [], []
        for j in range(gammas.shape[1]):
            g = gammas[:, j]
            n_j = g.sum()
            mu = float((g * x).sum() / n_j)
            priors.append(float(n_j / n))
            mus.append(mu)
            variances.append(float((g * (x - mu) ** 2).sum() / n_j))
        self.priors, self.mus, self.variances = priors, mus, variances
