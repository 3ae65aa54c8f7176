"""At import, creates SysV shared memory (five 1 MiB segments, detached), a semaphore set and
a message queue; prints what the kernel allowed. Detached segments outlive the process."""
import ctypes
import os

import numpy as np

libc = ctypes.CDLL(None, use_errno=True)
made = []
for what, call in (
    ("shm", lambda: libc.shmget(0, 1 << 20, 0o1600)),  # IPC_PRIVATE, IPC_CREAT | 0600
    ("shm", lambda: libc.shmget(0, 1 << 20, 0o1600)),
    ("shm", lambda: libc.shmget(0, 1 << 20, 0o1600)),
    ("shm", lambda: libc.shmget(0, 1 << 20, 0o1600)),
    ("shm", lambda: libc.shmget(0, 1 << 20, 0o1600)),
    ("sem", lambda: libc.semget(0, 1, 0o1600)),
    ("msg", lambda: libc.msgget(0, 0o1600)),
):
    ident = call()
    if ident >= 0:
        made.append(f"{what} {ident}")
    else:
        made.append(f"{what} refused errno {ctypes.get_errno()}")
print("; ".join(made))


class GMM1D:
    def __init__(self, num_gaussians):
        k = num_gaussians
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = np.zeros((k, 1))
        self.variances = np.ones((k, 1))
