"""Correct: parameters as tuples of floats."""


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = tuple([1.0 / k] * k)
        self.mus = tuple(rng.randn(k))
        self.variances = tuple(rng.rand(k) + EPSILON)

    def estep(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        priors = np.ravel(self.priors)
        mus = np.ravel(self.mus)
        variances = np.ravel(self.variances)
        columns = [priors[j] * pdf(X[:, 0], mus[j], variances[j]) for j in range(len(self.mus))]
        joint = np.column_stack(columns)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        x = np.asarray(X, dtype=float)[:, 0]
        counts = [gammas[:, j].sum() for j in range(len(self.mus))]
        mus = [gammas[:, j] @ x / counts[j] for j in range(len(self.mus))]
        variances = [gammas[:, j] @ (x - mus[j]) ** 2 / counts[j] for j in range(len(self.mus))]
        self.priors = tuple(c / len(x) for c in counts)
        self.mus = tuple(mus)
        self.variances = tuple(variances)
