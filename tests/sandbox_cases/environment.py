"""Reports the worker's environment, flags, limits, cwd and sys.path from inside estep."""
import json
import os
import resource
import sys

import numpy as np


def _status(field):
    """A line of /proc/self/status: the calls that would ask (umask, getgroups) are not on the
    seccomp allow-list, and nothing but this probe needs them."""
    with open("/proc/self/status") as handle:
        return next(line.split(":", 1)[1].split() for line in handle if line.startswith(field))


def _report():
    with open("/proc/self/stat") as handle:
        session = int(handle.read().rsplit(")", 1)[1].split()[3])
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
        "umask": oct(int(_status("Umask:")[0], 8)),
        "sid_is_pid": session == os.getpid(),
        "uid": os.getuid(),
        "groups": [int(group) for group in _status("Groups:")],
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
