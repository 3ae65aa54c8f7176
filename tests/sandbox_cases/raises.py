"""Exceptions from student code: a helper (with a path in the message), SystemExit, KeyboardInterrupt."""
import numpy as np


def _check(X):
    raise ValueError("X is bad, see " + __file__)


class GMM1D:
    def __init__(self, num_gaussians):
        self.num_gaussians = num_gaussians
        self.priors = np.ones((num_gaussians, 1)) / num_gaussians
        self.mus = np.zeros((num_gaussians, 1))
        self.variances = np.ones((num_gaussians, 1))

    def estep(self, X):
        _check(X)

    def mstep(self, X, gammas):
        if gammas[0, 0] == 0.25:
            raise SystemExit(3)
        if gammas[0, 0] == 0.5:
            np.zeros(-1)  # ValueError raised inside numpy, on this line
        raise KeyboardInterrupt
