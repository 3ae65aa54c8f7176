"""Student version: priors, mus and variances are flat (k,) arrays."""


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = np.ones(k) / k  # (k,)
        self.mus = rng.randn(k)  # (k,)
        self.variances = rng.rand(k) + EPSILON  # (k,)

    def estep(self, X):
        joint = self.priors * pdf(X, self.mus, self.variances)  # (n, 1) with (k,) -> (n, k)
        return joint / joint.sum(axis=1)[:, np.newaxis]

    def mstep(self, X, gammas):
        n_k = gammas.sum(axis=0)  # (k,)
        self.priors = n_k / len(X)
        self.mus = (gammas * X).sum(axis=0) / n_k
        self.variances = (gammas * (X - self.mus) ** 2).sum(axis=0) / n_k
