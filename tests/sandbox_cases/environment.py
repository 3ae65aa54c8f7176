"""Reports the worker's environment, flags, limits, cwd and sys.path from inside estep."""
import json
import os
import resource
import sys

import numpy as np


def _report():
    limits = {
        name: resource.getrlimit(getattr(resource, name))
        for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_CORE",
                     "RLIMIT_NOFILE", "RLIMIT_MSGQUEUE")
    }
    return {
        "env": dict(os.environ),
        "isolated": sys.flags.isolated,
        "limits": limits,
        "cwd": os.getcwd(),
        "cwd_listing": sorted(os.listdir(".")),
        "cwd_mode": oct(os.stat(".").st_mode & 0o777),
        "cwd_on_path": any(p in ("", ".", os.getcwd()) for p in sys.path),
        "umask": oct(os.umask(0o077)),
        "sid_is_pid": os.getsid(0) == os.getpid(),
        "uid": os.getuid(),
        "groups": os.getgroups(),
        "module": __name__,
    }


class GMM1D:
    def __init__(self, num_gaussians):
        self.num_gaussians = num_gaussians
        self.priors = np.ones((num_gaussians, 1)) / num_gaussians
        self.mus = np.zeros((num_gaussians, 1))
        self.variances = np.ones((num_gaussians, 1))

    def estep(self, X):
        print("REPORT " + json.dumps(_report()))
        return np.full((X.shape[0], self.num_gaussians), 1.0 / self.num_gaussians)

    def mstep(self, X, gammas):
        pass


if __name__ == "__main__":
    raise SystemExit("the __main__ block must not run in the sandbox")
