"""seccomp: system calls the worker never needs fail with EPERM, on any kernel with seccomp.

Built with ``pyseccomp`` (ctypes over the libseccomp that Debian and Ubuntu images carry,
which knows every architecture's syscall numbers). The default action is to allow: the
filter is a deny-list of what only an attack would use. A denied call returns EPERM, so the
student's code gets an ordinary OSError it can report, never a killed worker. libseccomp's
default for a foreign architecture (32-bit calls on a 64-bit kernel) is to kill, so the
filter cannot be sidestepped through another ABI.

Standard library only at import (pyseccomp is imported by :func:`install`): the sandbox
worker receives this file's source text and installs the filter on itself, last, just
before it imports the submission.
"""

import errno

# What the worker never needs, by purpose. Names the running architecture lacks are skipped.
DENIED = {
    # network and local sockets of every family: the worker's pipes exist already
    "sockets": ("socket", "socketpair"),
    # reading or steering another process
    "tracing": ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd"),
    # namespaces and mounts
    "namespaces": ("unshare", "setns", "mount", "umount2", "pivot_root", "chroot")
    + ("fsopen", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr"),
    # kernel attack surface no numerical code touches
    "kernel": ("bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key")
    + ("io_uring_setup", "io_uring_enter", "io_uring_register"),
    # IPC that would outlive the worker (SysV) or escape its limits (POSIX queues)
    "ipc": ("shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl")
    + ("msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend")
    + ("mq_timedreceive", "mq_notify", "mq_getsetattr"),
    # running another program (everything the worker needs is loaded already), and opening
    # files by handle, which would bypass path checks
    "programs": ("execve", "execveat", "open_by_handle_at", "name_to_handle_at"),
}


def available():
    """(True, "") if a filter can be built here, else (False, why not)."""
    try:
        import pyseccomp  # noqa: F401  (raises RuntimeError without libseccomp)
    except (ImportError, RuntimeError, OSError) as exc:
        return False, f"seccomp is unavailable: pyseccomp could not load libseccomp ({exc})"
    try:
        with open("/proc/self/status") as handle:
            if "Seccomp:" not in handle.read():
                return False, "seccomp is unavailable: the kernel was built without it"
    except OSError:
        pass
    return True, ""


def install():
    """Load the deny-list filter into this process (irreversible); returns how many calls it
    denies. Raises on failure (ImportError, RuntimeError or OSError)."""
    import pyseccomp

    sfilter = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    denied = 0
    for names in DENIED.values():
        for name in names:
            try:
                sfilter.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
            except (ValueError, OSError):  # not a syscall of this architecture
                continue
            denied += 1
    sfilter.load()
    return denied
