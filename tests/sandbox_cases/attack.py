"""One attack on the machine, run in estep; prints "ATTACK allowed" or "ATTACK denied ...".

A template: the test replaces the ATTACK line with (kind, argument). Kinds: read, list,
write, tcp, udp, abstract, signal, ptrace, vm_read, shm, unshare, exec, prlimit, inotify,
chmod, utime, memfd, pdeathsig.
"""

import ctypes
import os
import resource
import signal
import socket

import numpy as np

ATTACK = ("read", "/etc/hostname")  # the test replaces this line

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result):
    if result == -1:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def _attack(kind, arg):
    if kind == "read":
        with open(arg, "rb") as handle:
            return handle.read(64)
    if kind == "list":
        return os.listdir(arg)
    if kind == "write":
        with open(arg, "w") as handle:
            return handle.write("written by a submission")
    if kind == "tcp":
        with socket.create_connection(("127.0.0.1", arg), timeout=3) as conn:
            return conn.sendall(b"stolen")
    if kind == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as conn:
            return conn.sendto(b"stolen", ("127.0.0.1", arg))
    if kind == "abstract":
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect("\0" + arg)
            return conn.sendall(b"stolen")
    if kind == "signal":
        return os.kill(arg, signal.SIGTERM)
    if kind == "ptrace":
        # PTRACE_SEIZE attaches without stopping it; the tracer's exit detaches it again.
        return _check(_libc.ptrace(0x4206, arg, None, None))
    if kind == "vm_read":
        # A page that is surely unmapped in the target: EFAULT means the kernel granted
        # access to the other process's memory and only then found nothing there.
        buffer = ctypes.create_string_buffer(8)
        local = _IoVec(ctypes.cast(buffer, ctypes.c_void_p), 8)
        remote = _IoVec(0x10000, 8)
        try:
            return _check(_libc.process_vm_readv(arg, ctypes.byref(local), 1,
                                                 ctypes.byref(remote), 1, 0))
        except OSError as exc:
            if exc.errno == 14:  # EFAULT
                return "reached"
            raise
    if kind == "shm":
        ident = _check(_libc.shmget(0, 1 << 20, 0o1600))  # IPC_PRIVATE, IPC_CREAT | 0600
        return _check(_libc.shmctl(ident, 0, None))  # IPC_RMID
    if kind == "unshare":
        return _check(_libc.unshare(0x10000000))  # CLONE_NEWUSER
    if kind == "exec":
        return os.execv("/bin/true", ["true"])
    if kind == "prlimit":  # (pid, resource name, new limits or None: its current ones)
        pid, name, new = arg
        number = getattr(resource, name)
        return resource.prlimit(pid, number, new or resource.prlimit(pid, number))
    if kind == "inotify":  # learn every name created in a shared directory
        fd = _check(_libc.inotify_init1(0o2000000))  # IN_CLOEXEC
        return _check(_libc.inotify_add_watch(fd, arg.encode(), 0x100))  # IN_CREATE
    if kind == "chmod":
        return os.chmod(arg, 0)
    if kind == "utime":
        return os.utime(arg, (0, 0))
    if kind == "memfd":  # memory outside RLIMIT_AS
        fd = os.memfd_create("flood")
        return os.ftruncate(fd, 1 << 19)
    if kind == "pdeathsig":  # outlive the grader
        return _check(_libc.prctl(1, 0, 0, 0, 0))  # PR_SET_PDEATHSIG, none
    raise ValueError(kind)


def _report():
    try:
        _attack(*ATTACK)
        return "ATTACK allowed"
    except OSError as exc:
        return f"ATTACK denied {type(exc).__name__} errno {exc.errno}"


class GMM1D:
    """Uniform posteriors; the attack runs at every estep."""

    def __init__(self, num_gaussians):
        k = num_gaussians
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = np.zeros((k, 1))
        self.variances = np.ones((k, 1))

    def estep(self, X):
        print(_report(), flush=True)
        return np.full((X.shape[0], self.num_gaussians), 1.0 / self.num_gaussians)

    def mstep(self, X, gammas):
        pass
