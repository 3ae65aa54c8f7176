"""Reports what the worker's user may do to the grader's files and process (root tests)."""
import os
import signal

import numpy as np

TARGETS = {}  # the test replaces this line: {"read": [...], "write": [...]}


def _probe():
    lines = [f"uid {os.getuid()} gid {os.getgid()} groups {os.getgroups()}"]
    for path in TARGETS.get("read", []):
        try:
            with open(path, "rb") as handle:
                handle.read(1)
            lines.append(f"read allowed: {path}")
        except OSError as exc:
            lines.append(f"read denied: {path} ({type(exc).__name__})")
    for path in TARGETS.get("list", []):
        try:
            os.listdir(path)
            lines.append(f"list allowed: {path}")
        except OSError as exc:
            lines.append(f"list denied: {path} ({type(exc).__name__})")
    for path in TARGETS.get("write", []):
        try:
            with open(os.path.join(path, "forged.json"), "w") as handle:
                handle.write("{}")
            lines.append(f"write allowed: {path}")
        except OSError as exc:
            lines.append(f"write denied: {path} ({type(exc).__name__})")
    try:
        os.kill(os.getppid(), 0)  # signal 0: permission check only, nothing is sent
        lines.append("signal parent allowed")
    except OSError as exc:
        lines.append(f"signal parent denied ({type(exc).__name__})")
    return lines



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
        print("\n".join(_probe()))
        return self._estep(X)
