"""Landlock (Linux 5.13+), through ctypes: the kernel confines the worker's files, TCP and scope.

A small module of our own rather than the PyPI package ``landlock`` (1.0.0.dev5, the only
release): that package creates rulesets with filesystem rights only, so it cannot handle
TCP bind/connect (Landlock ABI 4) or the signal and abstract-socket scopes (ABI 6), and it
is a development release. The three system calls are the same numbers on every
architecture (444-446, allocated after the syscall tables were unified).

Standard library only: the sandbox worker receives this file's source text and calls
:func:`restrict` on itself before it imports the submission; the grader calls
:func:`abi_version` to know what the kernel offers.
"""

import ctypes
import errno
import os
import stat

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights, and the ABI that introduced each beyond the first.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
MAKE_SYM, REFER, TRUNCATE, IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15
FS_BY_ABI = {1: (1 << 13) - 1, 2: REFER, 3: TRUNCATE, 5: IOCTL_DEV}
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # rights a file can hold

NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

READ = READ_FILE | READ_DIR | EXECUTE
READ_NO_EXEC = READ_FILE | READ_DIR
READ_WRITE_FILE = READ_FILE | WRITE_FILE | TRUNCATE


class LandlockError(OSError):
    """Landlock could not be applied (the message says which step failed)."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct landlock_path_beneath_attr is packed (12 bytes)
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = []


def _lib():
    if not _libc:
        _libc.append(ctypes.CDLL(None, use_errno=True))
    return _libc[0]


def _syscall(number, *args):
    result = _lib().syscall(ctypes.c_long(number), *args)
    if result < 0:
        code = ctypes.get_errno()
        raise LandlockError(code, os.strerror(code))
    return result


def abi_version():
    """The kernel's Landlock ABI (0: none), and why not when it is 0."""
    try:
        return _syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), CREATE_RULESET_VERSION), ""
    except LandlockError as exc:
        reasons = {
            errno.ENOSYS: "the kernel has no Landlock (Linux 5.13 or newer is needed)",
            errno.EOPNOTSUPP: "Landlock is disabled at boot (add landlock to the lsm= list)",
        }
        return 0, reasons.get(exc.errno, f"Landlock is unavailable ({exc.strerror})")
    except (AttributeError, OSError) as exc:  # not Linux, or no libc
        return 0, f"Landlock is unavailable on this system ({exc})"


def fs_rights(abi):
    """Every filesystem right ``abi`` knows, to be handled (denied unless a rule allows it)."""
    rights = 0
    for since, bits in FS_BY_ABI.items():
        if abi >= since:
            rights |= bits
    return rights


PARTS = {"files": 1, "network": 4, "scopes": 6}  # what restrict() applies -> first ABI with it


def restrict(rules, abi):
    """Confine this process for good: only ``rules`` ({path: rights}) on the filesystem, no TCP
    bind or connect (ABI 4+), no signals or abstract UNIX sockets beyond its domain (ABI 6+).

    Missing paths are skipped. Returns the parts applied, e.g. ["files", "network", "scopes"].
    Raises LandlockError. Sets no_new_privs, which Landlock requires of an unprivileged caller.
    """
    handled_fs = fs_rights(abi)
    attr = _RulesetAttr(handled_fs, 0, 0)
    applied = [part for part, since in PARTS.items() if abi >= since]
    size = ctypes.sizeof(ctypes.c_uint64)
    if "network" in applied:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        size = 2 * ctypes.sizeof(ctypes.c_uint64)
    if "scopes" in applied:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = ctypes.sizeof(attr)
    ruleset = _syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    try:
        for path, rights in rules.items():
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    rights &= FILE_ONLY
                rule = _PathBeneathAttr(rights & handled_fs, fd)
                _syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0)
            finally:
                os.close(fd)
        if _lib().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise LandlockError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        _syscall(SYS_RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)
    return applied
