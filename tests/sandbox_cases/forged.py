"""Writes its own bytes to the reply pipe during estep. MODE is replaced by the tests."""
import io
import json
import os
import stat
import struct
import sys
import time

import numpy as np

MODE = "garbage"
MARKER = "/nonexistent/marker"  # the pickle mode's payload would create this file


def reply_fd():
    """The write end of a pipe other than stdout/stderr, found by scanning our fds."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd <= 2:
            continue
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode) and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                # its open flags, as fcntl(F_GETFL) would say (seccomp refuses fcntl)
                with open(f"/proc/self/fdinfo/{fd}") as info:
                    flags = next(int(line.split()[1], 8) for line in info if line.startswith("flags:"))
                if flags & os.O_ACCMODE == os.O_WRONLY:
                    return fd
        except OSError:
            pass
    raise RuntimeError("no reply pipe found")


def frame(header, blobs=()):
    header = dict(header, arrays=[[name, len(blob)] for name, blob in blobs])
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + b"".join(blob for _, blob in blobs)


def current_call_id():
    """Steal the request id from the worker's stack, as a hostile submission could."""
    f = sys._getframe()
    while f is not None:
        if "self" in f.f_locals and hasattr(f.f_locals["self"], "call_id"):
            return f.f_locals["self"].call_id
        f = f.f_back
    return 1


class Payload:
    def __reduce__(self):
        return (open, (MARKER, "w"))


def npy(array, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def forged_bytes(X):
    cid = current_call_id()
    ok = {"type": "reply", "id": cid, "kind": "ok", "error": ""}
    good_values = {"result_type": "numpy.ndarray", "result_shape": [X.shape[0], 2]}
    if MODE == "garbage":
        return b"hello, grader! \xff\xfe" * 100
    if MODE == "huge_header":
        return struct.pack(">I", 0xFFFFFFFF) + b"{}"
    if MODE == "huge_array":
        raw = json.dumps(dict(ok, values=good_values, arrays=[["result", 10 * 2**30]])).encode()
        return struct.pack(">I", len(raw)) + raw + b"\x00" * 1000
    if MODE == "bad_types":
        return frame(dict(ok, values={"result_type": 42, "result_shape": "many"}))
    if MODE == "wrong_kind":
        return frame(dict(ok, kind="timeout", values={}))
    if MODE == "nan_header":
        return frame(dict(ok, values=good_values)).replace(b'"error": ""', b'"error": NaN')
    if MODE == "pickle":
        array = np.empty(1, dtype=object)
        array[0] = Payload()
        return frame(dict(ok, values=good_values), [("result", npy(array, allow_pickle=True))])
    if MODE == "short_array":
        blob = npy(np.zeros(1000))
        header_len = len(blob) - 8000  # the .npy header of a 1000-element array, then 8 bytes only
        return frame(dict(ok, values=good_values), [("result", blob[: header_len + 8])])
    if MODE == "unknown_array":
        return frame(dict(ok, values=good_values), [("secret", npy(np.zeros(2)))])
    if MODE == "bad_progress":
        return frame({"type": "progress", "id": cid, "stage": "os.system"})
    if MODE == "valid_forgery":
        return frame(dict(ok, values=good_values), [("result", npy(np.full((X.shape[0], 2), 0.5)))])
    raise ValueError(MODE)


class GMM1D:
    def __init__(self, num_gaussians):
        self.num_gaussians = num_gaussians
        self.priors = np.ones((num_gaussians, 1)) / num_gaussians
        self.mus = np.zeros((num_gaussians, 1))
        self.variances = np.ones((num_gaussians, 1))

    def estep(self, X):
        os.write(reply_fd(), forged_bytes(X))
        if MODE == "valid_forgery":
            time.sleep(1)  # the grader takes the forgery; our worker's own reply comes later
            return None
        time.sleep(5)  # the grader must not wait for more than it accepts: protocol at once

    def mstep(self, X, gammas):
        pass
