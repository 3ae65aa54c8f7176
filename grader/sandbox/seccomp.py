"""seccomp: system calls the worker never needs fail with EPERM, on any kernel with seccomp.

Built with libseccomp (``libseccomp.so.2``, which Debian and Ubuntu images carry as a
dependency of apt, and which knows every architecture's syscall numbers), through ctypes.
Five of its functions are all this needs, so they are declared here rather than through the
PyPI package ``pyseccomp``: that package finds libc and libseccomp with
``ctypes.util.find_library``, which runs ``ldconfig`` in subprocesses and imports subprocess,
tempfile and shutil, 13 ms of every worker start (measured), most of the 20 ms the kernel
layers may add; here the library is opened by its soname.

The default action is to allow: the filter is a deny-list of what only an attack would use.
A denied call returns EPERM, so the student's code gets an ordinary OSError it can report,
never a killed worker. libseccomp's default for a foreign architecture (32-bit calls on a
64-bit kernel) is to kill, so the filter cannot be sidestepped through another ABI.

Standard library only: the sandbox worker receives this file's source text and installs the
filter on itself, last, just before it imports the submission.
"""

import ctypes
import errno
import os

LIBRARY = "libseccomp.so.2"
ACT_ALLOW = 0x7FFF0000


def act_errno(code):
    return 0x00050000 | (code & 0xFFFF)


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


_library = []


def _lib():
    """libseccomp, its five functions declared (raises OSError when it is missing)."""
    if not _library:
        lib = ctypes.CDLL(LIBRARY, use_errno=True)
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
        lib.seccomp_rule_add_array.argtypes = [
            ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p
        ]  # fmt: skip
        lib.seccomp_rule_add_array.restype = ctypes.c_int
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        lib.seccomp_load.restype = ctypes.c_int
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_release.restype = None
        _library.append(lib)
    return _library[0]


def available():
    """(True, "") if a filter can be built here, else (False, why not)."""
    try:
        _lib()
    except OSError as exc:
        return False, f"seccomp is unavailable: {LIBRARY} could not be loaded ({exc})"
    try:
        with open("/proc/self/status") as handle:
            if "Seccomp:" not in handle.read():
                return False, "seccomp is unavailable: the kernel was built without it"
    except OSError:
        pass
    return True, ""


def install():
    """Load the deny-list filter into this process (irreversible); returns (how many calls it
    denies, the names this libseccomp does not know). An unknown name (an older libseccomp)
    is not filtered, so it is reported, never skipped in silence. Raises OSError on failure."""
    lib = _lib()
    ctx = lib.seccomp_init(ACT_ALLOW)
    if not ctx:
        raise OSError(errno.ENOMEM, "seccomp_init failed")
    try:
        denied, unknown = 0, []
        for names in DENIED.values():
            for name in names:
                # A call this architecture lacks resolves to a negative pseudo-number that
                # libseccomp accepts; -1 (__NR_SCMP_ERROR) is a name it does not know at all.
                number = lib.seccomp_syscall_resolve_name(name.encode())
                if number == -1:
                    unknown.append(name)
                    continue
                result = lib.seccomp_rule_add_array(ctx, act_errno(errno.EPERM), number, 0, None)
                if result < 0:
                    raise OSError(-result, f"seccomp_rule_add({name}): {os.strerror(-result)}")
                denied += 1
        result = lib.seccomp_load(ctx)
        if result < 0:
            raise OSError(-result, f"seccomp_load: {os.strerror(-result)}")
        return denied, unknown
    finally:
        lib.seccomp_release(ctx)
