"""My EM homework, lab 3."""


class GMM1D:
    def estep(self, data):
        """resp (n, k): resp[i, j] = P(cluster j | x_i)."""
        data = np.asarray(data, dtype=float)
        weighted = self.priors.T * pdf(data, self.mus.T, self.variances.T)  # (n, k)
        return weighted / weighted.sum(axis=1, keepdims=True)

    def mstep(self, data, resp):
        data = np.asarray(data, dtype=float)
        resp = np.asarray(resp, dtype=float)

        # number of samples
        n = data.shape[0]
        soft_counts = resp.sum(axis=0)
        centres = (resp * data).sum(axis=0) / n
        spreads = (resp * (data - centres) ** 2).sum(axis=0) / n
        self.priors = (soft_counts / n).reshape(-1, 1)
        self.mus = centres.reshape(-1, 1)
        self.variances = spreads.reshape(-1, 1)
