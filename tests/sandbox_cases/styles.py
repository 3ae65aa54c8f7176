"""Correct EM that stores its parameters in one style and insists on getting it back."""
import numpy as np

STYLE = "column"  # the test replaces this line: column | row | flat | list


def _store(values):
    values = np.asarray(values, dtype=float).ravel()
    if STYLE == "column":
        return values.reshape(-1, 1)
    if STYLE == "row":
        return values.reshape(1, -1)
    if STYLE == "flat":
        return values
    return [float(v) for v in values]


def _load(value, k):
    """(1, k) float array from a parameter, after checking it is still in our style."""
    shapes = {"column": (k, 1), "row": (1, k), "flat": (k,)}
    if STYLE == "list":
        good = type(value) is list and len(value) == k and all(type(v) is float for v in value)
    else:
        good = type(value) is np.ndarray and value.shape == shapes[STYLE]
    if not good:
        raise TypeError(f"parameter not stored in style {STYLE}: {type(value).__name__}")
    return np.asarray(value, dtype=float).reshape(1, -1)


class GMM1D:
    def __init__(self, num_gaussians):
        k = self.num_gaussians = num_gaussians
        self.priors = _store(np.ones(k) / k)
        self.mus = _store(np.random.randn(k))
        self.variances = _store(np.random.rand(k) + 1e-12)

    def estep(self, X):
        k = self.num_gaussians
        p, m, v = (_load(a, k) for a in (self.priors, self.mus, self.variances))
        joint = p * np.exp(-((X - m) ** 2) / (2 * v)) / np.sqrt(2 * np.pi * v)
        gammas = joint / joint.sum(axis=1, keepdims=True)
        return gammas.tolist() if STYLE == "list" else gammas

    def mstep(self, X, gammas):
        k = self.num_gaussians
        for a in (self.priors, self.mus, self.variances):
            _load(a, k)
        gammas = np.asarray(gammas, dtype=float)
        n_k = gammas.sum(axis=0)
        mus = (gammas * X).sum(axis=0) / n_k
        self.variances = _store((gammas * (X - mus) ** 2).sum(axis=0) / n_k)
        self.mus = _store(mus)
        self.priors = _store(n_k / X.shape[0])
