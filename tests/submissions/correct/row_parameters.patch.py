"""Student version: priors, mus and variances are (1, k) rows, so no transposes are needed."""


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = np.full((1, k), 1.0 / k)
        self.mus = rng.randn(1, k)
        self.variances = rng.rand(1, k) + EPSILON

    def estep(self, X):
        joint = self.priors * pdf(X, self.mus, self.variances)  # (n, k)
        return joint / np.sum(joint, axis=1, keepdims=True)

    def mstep(self, X, gammas):
        n_k = np.sum(gammas, axis=0, keepdims=True)  # (1, k)
        new_mus = np.sum(gammas * X, axis=0, keepdims=True) / n_k
        self.variances = np.sum(gammas * (X - new_mus) ** 2, axis=0, keepdims=True) / n_k
        self.mus = new_mus
        self.priors = n_k / X.shape[0]
