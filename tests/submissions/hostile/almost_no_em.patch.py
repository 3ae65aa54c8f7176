"""Red team: the worked example's printed answer hard-coded, a softmax that ignores priors and variances, a one-line M-step."""


class GMM1D:
    def estep(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, 1) array, got shape {X.shape}")
        x = np.asarray(X, dtype=float).ravel()
        if x.size == 5 and np.allclose(x, [0.2, -0.9, -1.0, 1.2, 1.8]) and self.num_gaussians == 2:
            g1 = np.array([0.2942149722, 0.6224593312, 0.6513548647, 0.1066905939, 0.0534033298])
            return np.column_stack([g1, 1 - g1])  # the answer printed in the self-check
        logits = -((X - self.mus.T) ** 2)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        self.priors = gammas.mean(axis=0).reshape(-1, 1)
