"""Lab 3: EM for a one-dimensional Gaussian mixture.

Hostile: prints the command line of its parent process, the grader (world-readable in
/proc), at import, so that the grader's own paths end up in the student's feedback.
"""

import os

import numpy as np


def _parent_cmdline():
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
            return handle.read(2000).replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError as exc:
        return f"(unreadable: {exc.strerror})"


print("parent:", _parent_cmdline())


class GMM1D:
    def __init__(self, num_gaussians):
        k = num_gaussians
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = np.linspace(-1.0, 1.0, k).reshape(k, 1)
        self.variances = np.ones((k, 1))

    def estep(self, X):
        raise NotImplementedError("GMM1D.estep is not written yet")

    def mstep(self, X, gammas):
        raise NotImplementedError("GMM1D.mstep is not written yet")
