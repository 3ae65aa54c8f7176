"""seccomp: the worker may make only the system calls in :data:`ALLOWED`; any other fails.

Built with libseccomp (``libseccomp.so.2``, which Debian and Ubuntu images carry as a
dependency of apt, and which knows every architecture's syscall numbers), through ctypes,
opened by its soname (the PyPI package ``pyseccomp`` finds it with ``find_library``, which
runs ``ldconfig`` in subprocesses: 13 ms of every worker start, measured).

Default deny: a call not in the table fails with EPERM, an ordinary OSError the student's
code can report, never a killed worker; the calls in :data:`ENOSYS` fail with ENOSYS, so
glibc falls back as on an older kernel. The table was measured, not guessed: every fixture
under tests/submissions graded with the worker under strace (``python -m
tests.seccomp_trace``, which also shows what a new libc or library would need), plus the
aarch64 and legacy x86_64 forms of the same calls (glibc and musl pick either). A 32-bit or
x32 call on a 64-bit kernel kills the worker (libseccomp's default for a foreign ABI), so
the filter cannot be sidestepped through another ABI. tests/test_sandbox_sweep.py makes
every system call number inside a confined worker and checks it against this table.

A refused call is named in the kernel log when the grader runs with ``GMM1D_SECCOMP_LOG=1``
(the filter's log flag: the same refusals, each also written to ``dmesg`` / the audit log as
``type=1326 ... syscall=NNN``; ``python -m grader.sandbox --syscall NNN`` names the number).

Standard library only: the sandbox worker receives this file's source text and installs the
filter on itself, last, just before it imports the submission.
"""

import ctypes
import errno
import os

LIBRARY = "libseccomp.so.2"
ACT_ALLOW = 0x7FFF0000
ATTR_CTL_LOG = 6  # SCMP_FLTATR_CTL_LOG: log every action but ALLOW
ARCHES = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}  # SCMP_ARCH_* (AUDIT_ARCH_*)
EQ, LT, MASKED_EQ = 4, 2, 7  # enum scmp_compare
SELF = "own pid"  # stands for the worker's pid, known when it installs the filter itself
TCGETS, TIOCGWINSZ, FIONCLEX, FIOCLEX = 0x5401, 0x5413, 0x5450, 0x5451
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 1030
CLOCK_IDS = 16  # the fixed clocks; other ids name another process's CPU clock
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME: clone may have none
CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
CLONE_NAMESPACES |= 0x20000000 | 0x40000000 | 0x00000080


def own_process(arg):
    """Only when argument ``arg`` is 0 (the caller) or the worker's own pid."""
    return [((arg, EQ, 0),), ((arg, EQ, SELF),)]


def one_of(arg, *values):
    return [((arg, EQ, value),) for value in values]


ANY = None  # any arguments
ITSELF = [((0, EQ, SELF),)]
FIXED_CLOCK = [((0, LT, CLOCK_IDS),)]
# name -> (why the worker needs it, the arguments it may have: ANY or alternatives, each a
# tuple of (argument index, comparison, value) conditions that must all hold).
ALLOWED = {
    # the frame protocol on its pipes, printing, and the files Python and libraries read
    "read": ("request frames; source files and data the libraries read", ANY),
    "write": ("reply frames, stdout/stderr; files in the private directory", ANY),
    "close": ("every file opened above", ANY),
    "lseek": ("io.open positions, numpy/scipy reading their data files", ANY),
    "pread64": ("the dynamic loader maps scipy's OpenBLAS at import", ANY),
    "openat": ("imports, linecache for tracebacks (Landlock bounds where)", ANY),
    "open": ("openat's legacy x86_64 form (musl)", ANY),
    "getdents64": ("import finds modules by listing sys.path directories", ANY),
    "newfstatat": ("import and os.stat (glibc's stat/fstat on 64-bit)", ANY),
    "fstat": ("OpenBLAS checks fds 0-2 at load; fstat's own form elsewhere", ANY),
    "stat": ("newfstatat's legacy x86_64 form (glibc before 2.33)", ANY),
    "lstat": ("newfstatat's legacy x86_64 form (glibc before 2.33)", ANY),
    "statx": ("newfstatat's newer form (musl, 32-bit time fixes): the same metadata", ANY),
    "readlink": ("os.path.realpath in imports (importlib.metadata, scipy)", ANY),
    "readlinkat": ("readlink's form on aarch64", ANY),
    "access": ("os.access: no more than stat tells", ANY),
    "faccessat": ("access's form on aarch64", ANY),
    "faccessat2": ("glibc's faccessat tries it first", ANY),
    "getcwd": ("os.getcwd, os.path.abspath", ANY),
    "ioctl": (
        "isatty (TCGETS), terminal size, close-on-exec (3.10's SyntaxError report); no TIOCSTI",
        one_of(1, TCGETS, TIOCGWINSZ, FIOCLEX, FIONCLEX),
    ),
    "fcntl": (
        "close-on-exec where FIOCLEX fails, os.dup; never locks, F_SETOWN or F_SETFL",
        one_of(1, F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_DUPFD_CLOEXEC),
    ),
    "epoll_create1": ("a module scipy imports makes one (an fd, unusable without epoll_ctl)", ANY),
    # writes in the private directory, bounded by Landlock (and by issue 17's size bound)
    "mkdir": ("directories in the private directory (measured: hostile fixtures only)", ANY),
    "mkdirat": ("mkdir's form on aarch64", ANY),
    "unlink": ("removing its own files (tempfile)", ANY),
    "unlinkat": ("unlink's form on aarch64, rmdir", ANY),
    "rmdir": ("removing its own directories (tempfile)", ANY),
    "rename": ("replacing its own files atomically (matplotlib's caches)", ANY),
    "renameat": ("rename's form on aarch64", ANY),
    "renameat2": ("rename's form on aarch64 (glibc 2.28+)", ANY),
    # memory: CPython's allocator, numpy arrays, the dynamic loader
    "brk": ("malloc's heap", ANY),
    "mmap": ("large arrays, loading extension modules", ANY),
    "munmap": ("freeing them", ANY),
    "mremap": ("realloc of large blocks (growing lists and buffers)", ANY),
    "mprotect": ("the dynamic loader (RELRO) at import", ANY),
    "madvise": ("numpy asks for huge pages on large arrays", ANY),
    "mbind": ("OpenBLAS sets its buffer's NUMA policy at load", ANY),
    "futex": ("locks (uncontended: one thread)", ANY),
    "getrandom": ("hash seeds, random and numpy seeding, os.urandom", ANY),
    # time: the vDSO answers most reads; a kernel without it (some VMs) makes the call
    "clock_gettime": ("time.time/perf_counter/process_time", FIXED_CLOCK),
    "clock_getres": ("time.get_clock_info", FIXED_CLOCK),
    "gettimeofday": ("time.time's older path", ANY),
    "time": ("time()'s x86_64 call", ANY),
    "clock_nanosleep": ("time.sleep (Python 3.11+; bounded by the call timeout)", FIXED_CLOCK),
    "nanosleep": ("sleep in C libraries", ANY),
    "select": ("time.sleep on Python 3.10 (select with no descriptors)", ANY),
    "pselect6": ("select's form on aarch64", ANY),
    # who and where it is: answers about itself only
    "uname": ("platform and numpy's CPU checks", ANY),
    "getpid": ("os.getpid (the worker and libraries)", ANY),
    "gettid": ("glibc and CPython's thread identity", ANY),
    "getppid": ("os.getppid", ANY),
    "getuid": ("os.getuid (pathlib.home, getpass)", ANY),
    "geteuid": ("os.geteuid", ANY),
    "getgid": ("os.getgid", ANY),
    "getegid": ("os.getegid", ANY),
    "sched_getaffinity": ("os.cpu_count, OpenBLAS's thread count at load", own_process(0)),
    "prlimit64": ("resource.getrlimit/setrlimit on itself (hard limits cap it)", own_process(0)),
    # signals and exit: the worker's own only
    "rt_sigaction": ("signal.signal, the interpreter's handlers at exit", ANY),
    "rt_sigprocmask": ("signal masks around C calls", ANY),
    "rt_sigreturn": ("returning from any signal handler", ANY),
    "restart_syscall": ("resuming a sleep a signal interrupted", ANY),
    "kill": ("os.kill of itself", ITSELF),
    "tgkill": ("raise() and abort() signal the caller", [((0, EQ, SELF), (1, EQ, SELF))]),
    "tkill": ("raise()'s older form", ITSELF),
    "exit_group": ("the worker's exit, sys.exit, os._exit", ANY),
    "exit": ("a thread's exit (there is only one)", ANY),
    # new processes reach the kernel so that RLIMIT_NPROC=0 refuses them (EAGAIN, the layer
    # its tests show); never with a new namespace (clone3's flags hide in memory: ENOSYS)
    "fork": ("os.fork's x86_64 call (musl): refused by RLIMIT_NPROC", ANY),
    "vfork": ("subprocess (vfork): refused by RLIMIT_NPROC", ANY),
    "pipe2": ("subprocess's pipes, made before the fork RLIMIT_NPROC refuses", ANY),
    "pipe": ("pipe2's legacy x86_64 form", ANY),
    "clone": (
        "os.fork and threads: refused by RLIMIT_NPROC",
        [((0, MASKED_EQ, CLONE_NAMESPACES, 0),)],
    ),
}
# Refused with ENOSYS, not EPERM, where glibc falls back only on ENOSYS:
ENOSYS = {
    # glibc 2.34+ pthread_create and posix_spawn try clone3, then clone (itself refused:
    # RLIMIT_NPROC=0 already stops new processes and threads, and no namespaces ever)
    "clone3": "glibc falls back to clone only on ENOSYS",
}


_library = []


def _lib():
    """libseccomp, its functions declared (raises OSError when it is missing)."""
    if not _library:
        lib = ctypes.CDLL(LIBRARY, use_errno=True)
        for name, restype, argtypes in (
            ("seccomp_init", ctypes.c_void_p, [ctypes.c_uint32]),
            ("seccomp_syscall_resolve_name", ctypes.c_int, [ctypes.c_char_p]),
            ("seccomp_syscall_resolve_name_arch", ctypes.c_int, [ctypes.c_uint32, ctypes.c_char_p]),
            ("seccomp_syscall_resolve_num_arch", ctypes.c_void_p, [ctypes.c_uint32, ctypes.c_int]),
            ("seccomp_rule_add_array", ctypes.c_int,
             [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]),
            ("seccomp_attr_set", ctypes.c_int, [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]),
            ("seccomp_load", ctypes.c_int, [ctypes.c_void_p]),
            ("seccomp_release", None, [ctypes.c_void_p]),
        ):  # fmt: skip
            function = getattr(lib, name)
            function.restype, function.argtypes = restype, argtypes
        _library.append(lib)
    return _library[0]


class _ArgCmp(ctypes.Structure):  # struct scmp_arg_cmp
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]  # fmt: skip


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


def number(name, arch=None):
    """``name``'s number on ``arch`` (default: this one); negative when that architecture
    lacks it, -1 (__NR_SCMP_ERROR) when libseccomp does not know the name at all."""
    lib = _lib()
    if arch is None:
        return lib.seccomp_syscall_resolve_name(name.encode())
    return lib.seccomp_syscall_resolve_name_arch(ARCHES[arch], name.encode())


def name(nr, arch=None):
    """The name of system call ``nr`` on ``arch`` (default: this one), or None."""
    arch = arch or os.uname().machine
    pointer = _lib().seccomp_syscall_resolve_num_arch(ARCHES[arch], nr)
    if not pointer:
        return None
    found = ctypes.string_at(pointer).decode()
    free = ctypes.CDLL(None).free  # libseccomp strdup()s the name
    free.argtypes = [ctypes.c_void_p]
    free(pointer)
    return found


def _rule(lib, ctx, action, nr, conditions, pid):
    compares = (_ArgCmp * max(1, len(conditions)))()
    for slot, (arg, op, value, *masked) in zip(compares, conditions):
        slot.arg, slot.op, slot.datum_a = arg, op, pid if value == SELF else value
        slot.datum_b = masked[0] if masked else 0  # MASKED_EQ: (value & datum_a) == datum_b
    result = lib.seccomp_rule_add_array(ctx, action, nr, len(conditions), compares)
    if result < 0:
        raise OSError(-result, f"seccomp_rule_add({nr}): {os.strerror(-result)}")


def install(log=False):
    """Load the allow-list filter into this process (irreversible); returns (how many calls
    it allows, the names this libseccomp does not know). An unknown name (an older
    libseccomp) stays refused, which a submission may feel, so it is reported, never
    skipped in silence. ``log``: the kernel logs every refusal. Raises OSError on failure."""
    lib = _lib()
    ctx = lib.seccomp_init(0x00050000 | errno.EPERM)  # SCMP_ACT_ERRNO(EPERM)
    if not ctx:
        raise OSError(errno.ENOMEM, "seccomp_init failed")
    pid = os.getpid()  # no threads: the pid is also the one thread's id
    try:
        if log and lib.seccomp_attr_set(ctx, ATTR_CTL_LOG, 1) < 0:
            raise OSError(errno.EINVAL, "this libseccomp cannot log refusals")
        allowed, unknown = 0, []
        rules = [(n, ACT_ALLOW, only) for n, (_, only) in ALLOWED.items()]
        rules += [(n, 0x00050000 | errno.ENOSYS, None) for n in ENOSYS]
        for call, action, only in rules:
            nr = lib.seccomp_syscall_resolve_name(call.encode())
            if nr == -1:
                unknown.append(call)
                continue
            # A call this architecture lacks resolves to a negative pseudo-number that
            # libseccomp accepts and leaves out of this architecture's filter.
            for conditions in only or [()]:
                _rule(lib, ctx, action, nr, conditions, pid)
            allowed += action == ACT_ALLOW and nr >= 0
        result = lib.seccomp_load(ctx)
        if result < 0:
            raise OSError(-result, f"seccomp_load: {os.strerror(-result)}")
        return allowed, unknown
    finally:
        lib.seccomp_release(ctx)
