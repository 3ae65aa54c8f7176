"""Learns what it can of folders closed to it (mode 0700, root's) at import: stat of a file
inside, and an inotify watch on the folder; prints one line each, then its capability sets.
Also imports a standard-library module nothing loaded before (the interpreter must still be
reachable once the capability is gone)."""

import ctypes
import os

import numpy as np

TARGETS = {}  # the test replaces this line: {"stat": [...], "watch": [...]}


def _probe():
    libc = ctypes.CDLL(None, use_errno=True)
    lines = []
    for path in TARGETS.get("stat", []):
        try:
            info = os.stat(path)
            lines.append(f"stat allowed: {path} ({info.st_size} bytes)")
        except OSError as exc:
            lines.append(f"stat denied: {path} ({type(exc).__name__})")
    for path in TARGETS.get("watch", []):
        fd = libc.inotify_init1(0)
        if fd < 0:
            lines.append(f"watch denied: {path} (inotify_init1 errno {ctypes.get_errno()})")
            continue
        IN_ALL_EVENTS = 0xFFF
        watch = libc.inotify_add_watch(fd, path.encode(), IN_ALL_EVENTS)
        if watch >= 0:
            lines.append(f"watch allowed: {path}")
        else:
            lines.append(f"watch denied: {path} (errno {ctypes.get_errno()})")
        os.close(fd)
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb")):
                lines.append(line.strip().replace("\t", " "))
    import xml.dom.minidom  # noqa: F401 - not loaded by the worker: a fresh import

    lines.append("fresh import ok")
    return lines


print("\n".join(_probe()))


class GMM1D:
    """A small correct implementation (parameters stored as (k, 1) columns)."""

    def __init__(self, num_gaussians):
        k = num_gaussians
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = np.random.randn(k, 1)
        self.variances = np.random.rand(k, 1) + 1e-12

    def estep(self, X):
        X = np.asarray(X, dtype=float).reshape(-1, 1)
        dens = np.exp(-((X - self.mus.T) ** 2) / (2 * self.variances.T)) / np.sqrt(
            2 * np.pi * self.variances.T
        )
        joint = dens * self.priors.T
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        X = np.asarray(X, dtype=float).reshape(-1, 1)
        nk = gammas.sum(axis=0).reshape(-1, 1)
        self.priors = nk / X.shape[0]
        self.mus = (gammas.T @ X) / nk
        self.variances = (gammas.T @ (X - self.mus.T) ** 2).diagonal().reshape(
            -1, 1
        ) / nk.ravel().reshape(-1, 1)
