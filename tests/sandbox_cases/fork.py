"""Tries to start processes and threads, at import and in estep; prints what happened."""
import os
import subprocess
import threading
import time

import numpy as np

ATTEMPTS = []


def _try_everything(when):
    try:
        pid = os.fork()
    except OSError as exc:
        ATTEMPTS.append(f"{when} fork failed: {type(exc).__name__}")
    else:
        if pid == 0:  # the child: try to outlive the grader
            try:
                os.setsid()
            finally:
                time.sleep(600)
                os._exit(0)
        ATTEMPTS.append(f"{when} fork succeeded: {pid}")
    try:
        proc = subprocess.Popen(["/bin/sleep", "600"], start_new_session=True)
    except OSError as exc:
        ATTEMPTS.append(f"{when} popen failed: {type(exc).__name__}")
    else:
        ATTEMPTS.append(f"{when} popen succeeded: {proc.pid}")
    try:
        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
    except RuntimeError as exc:
        ATTEMPTS.append(f"{when} thread failed: {type(exc).__name__}")
    else:
        ATTEMPTS.append(f"{when} thread succeeded")


_try_everything("import")


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
        _try_everything("estep")
        print("\n".join(ATTEMPTS))
        return self._estep(X)
