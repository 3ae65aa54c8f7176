"""At import, leaves files and directories in every world-writable place it can, at depth
(PLACES is replaced by the test: the shared places plus a world-writable subdirectory), and
prints each place it managed to write to."""
import os

import numpy as np

PLACES = []  # the test replaces this line

for place in PLACES:
    try:
        with open(os.path.join(place, f"litter-{os.getpid()}"), "w") as handle:
            handle.write("data for a later grading")
        deep = os.path.join(place, f"litter-dir-{os.getpid()}", "a", "b", "c")
        os.makedirs(deep)
        with open(os.path.join(deep, "note"), "w") as handle:
            handle.write("x")
        os.symlink("/etc/passwd", os.path.join(place, f"litter-link-{os.getpid()}"))
        print("wrote", place)
    except OSError as exc:
        print("refused", place, type(exc).__name__)


class GMM1D:
    def __init__(self, num_gaussians):
        k = num_gaussians
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = np.zeros((k, 1))
        self.variances = np.ones((k, 1))
