"""Correct: validates everything, prints a lot, keeps counters and a cache."""


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        if k < 1:
            raise ValueError("need at least one gaussian")
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = rng.randn(k, 1)
        self.variances = rng.rand(k, 1) + EPSILON
        self._cache = {}  # remembers the last E-step, for inspection
        self.n_estep_calls = 0
        self.n_mstep_calls = 0

    def estep(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        k = self.num_gaussians
        if X.shape[1] != 1:
            raise ValueError(f"X must have one column, got {X.shape}")
        for name in ("priors", "mus", "variances"):
            if np.shape(getattr(self, name)) != (k, 1):
                raise ValueError(
                    f"self.{name} must be ({k}, 1), got {np.shape(getattr(self, name))}"
                )
        if np.any(self.variances <= 0):
            raise ValueError("variances must be positive")
        if not np.isclose(self.priors.sum(), 1.0):
            raise ValueError(f"priors must sum to 1, they sum to {self.priors.sum()}")
        self.n_estep_calls += 1
        print(f"[estep #{self.n_estep_calls}] n = {X.shape[0]}, k = {k}")
        print("  priors   :", np.array2string(self.priors.ravel(), precision=4))
        print("  mus      :", np.array2string(self.mus.ravel(), precision=4))
        print("  variances:", np.array2string(self.variances.ravel(), precision=4))
        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)
        gammas = joint / joint.sum(axis=1, keepdims=True)
        for i in range(X.shape[0]):
            print(f"  x[{i}] = {X[i, 0]: .4f} -> [{' '.join(f'{g:.3f}' for g in gammas[i])}]")
        self._cache["X"] = X.copy()
        self._cache["gammas"] = gammas.copy()
        return gammas

    def mstep(self, X, gammas):
        X = np.asarray(X, dtype=float)
        gammas = np.asarray(gammas, dtype=float)
        if X.ndim != 2 or X.shape[1] != 1:
            raise ValueError(f"X must be (n, 1), got {X.shape}")
        if gammas.shape != (X.shape[0], self.num_gaussians):
            raise ValueError(
                f"gammas must be ({X.shape[0]}, {self.num_gaussians}), got {gammas.shape}"
            )
        if np.any(gammas < 0) or not np.allclose(gammas.sum(axis=1), 1.0):
            raise ValueError("every row of gammas must be a probability vector")
        self.n_mstep_calls += 1
        n_k = gammas.sum(axis=0)
        mus = (gammas * X).sum(axis=0) / n_k
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_k
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
        print(f"[mstep #{self.n_mstep_calls}] soft counts {np.array2string(n_k, precision=3)}")
        print("  new priors   :", self.priors.ravel())
        print("  new mus      :", self.mus.ravel())
        print("  new variances:", self.variances.ravel())
        self._cache["params"] = (self.priors.copy(), self.mus.copy(), self.variances.copy())
