"""At import, tries to fill the disk and the inode table: 1 MiB files (at most COUNT) in each
of PLACES, then a chain of nested directories (at most DEPTH); prints what it made where."""

import os

import numpy as np

PLACES = [".", "/tmp", "/var/tmp", "/dev/shm"]
COUNT, DEPTH = 8, 200
CHUNK = b"x" * (1 << 20)


def _flood():
    lines = []
    for place in PLACES:
        made, error = 0, ""
        for number in range(COUNT):
            name = os.path.join(place, f"flood-{os.getpid()}-{number}")
            try:
                with open(name, "wb") as handle:
                    handle.write(CHUNK)
                made += 1
            except OSError as exc:
                error = type(exc).__name__
                break
        lines.append(f"files {place}: {made} MiB{' (' + error + ')' if error else ''}")
    depth, error = 0, ""
    try:
        fd = os.open(".", os.O_RDONLY)
        for _ in range(DEPTH):
            os.mkdir("n", dir_fd=fd)
            child = os.open("n", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
            depth += 1
        os.close(fd)
    except OSError as exc:
        error = type(exc).__name__
    lines.append(f"dirs: {depth}{' (' + error + ')' if error else ''}")
    return lines


print("\n".join(_flood()))


class GMM1D:
    def __init__(self, num_gaussians):
        self.num_gaussians = num_gaussians
        self.priors = np.ones((num_gaussians, 1)) / num_gaussians
        self.mus = np.zeros((num_gaussians, 1))
        self.variances = np.ones((num_gaussians, 1))
