"""Hostile: NaN everywhere."""


class GMM1D:
    def estep(self, X):
        return np.full((X.shape[0], self.num_gaussians), np.nan)

    def mstep(self, X, gammas):
        k = np.shape(gammas)[1]
        self.priors = np.full((k, 1), np.nan)
        self.mus = np.full((k, 1), np.nan)
        self.variances = np.full((k, 1), np.nan)
