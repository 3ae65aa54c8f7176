"""Student version: debugging prints left in every method."""


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        print("building a GMM1D with", num_gaussians, "gaussians")
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = rng.randn(k, 1)
        self.variances = rng.rand(k, 1) + EPSILON
        print(
            "priors",
            self.priors.ravel(),
            "mus",
            self.mus.ravel(),
            "variances",
            self.variances.ravel(),
        )

    def estep(self, X):
        print("estep: X has shape", np.shape(X))
        X = np.asarray(X, dtype=float)
        joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)
        gammas = joint / joint.sum(axis=1, keepdims=True)
        print("estep: gammas =", gammas)
        print("DEBUG estep row sums", gammas.sum(axis=1), file=sys.stderr)
        return gammas

    def mstep(self, X, gammas):
        print("mstep: gammas shape", gammas.shape)
        X = np.asarray(X, dtype=float)
        n_k = gammas.sum(axis=0)
        mus = (gammas * X).sum(axis=0) / n_k
        variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_k
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.variances = variances.reshape(-1, 1)
        print(
            "mstep: new priors",
            self.priors.ravel(),
            "mus",
            self.mus.ravel(),
            "variances",
            self.variances.ravel(),
        )
        print("DEBUG mstep done", file=sys.stderr)

    def em(self, X):
        print("em iteration")
        self.mstep(X, self.estep(X))

    def fit(self, X, max_iters=1000, delta=DELTA):
        print("fit: starting")
        log_likelihoods = []
        previous = self.log_likelihood(X)
        for _ in range(max_iters):
            self.em(X)
            current = self.log_likelihood(X)
            print("log-likelihood", current)
            log_likelihoods.append(current)
            if abs(current - previous) <= delta:
                break
            previous = current
        return log_likelihoods
