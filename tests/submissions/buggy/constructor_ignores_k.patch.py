"""Bug: the constructor ignores num_gaussians."""


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        self.num_gaussians = 2  # "we only ever need two"
        self.priors = np.ones((2, 1)) / 2
        self.mus = rng.randn(2, 1)
        self.variances = rng.rand(2, 1) + EPSILON

    def estep(self, X):
        """gammas (n, k): gammas[i, j] = P(cluster j | x_i)."""
        X = np.asarray(X, dtype=float)
        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)  # (n, k)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        """New priors, mus, variances ((k, 1) each) from X (n, 1) and gammas (n, k)."""
        X = np.asarray(X, dtype=float)
        gammas = np.asarray(gammas, dtype=float)
        n_k = gammas.sum(axis=0)  # (k,) soft counts
        mus = (gammas * X).sum(axis=0) / n_k
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_k
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
