"""No capability while student code runs, even when the interpreter lives where the worker's
uid cannot go (pyenv under a mode-700 /root, a clone in a private directory).

The worker switches to a throwaway uid as root. Its interpreter's files may sit below a
directory other users cannot traverse; the worker then used to keep CAP_DAC_READ_SEARCH
(bounded by Landlock), which also let student code stat and inotify-watch any folder on the
machine, whatever its mode (names, sizes and times of the course secret and the solution).

Instead, while the capability is still held, :func:`reach_by_descriptor` opens each such
tree once (an ``O_PATH`` descriptor on the topmost directory below the one that shuts others
out) and rewrites every place the import system looks (``sys.path``, packages' ``__path__``,
modules' ``__file__``) to ``/proc/self/fd/N/...``: a lookup through that magic link starts
inside the tree, so no permission of the directories above it is checked again, and
Landlock still judges the real path. Then :func:`drop_all` empties every capability set
(effective, permitted, inheritable; the bounding set and ambient set were emptied by
:func:`drop_bounding_and_ambient` while root). What the descriptor opens is only what an
"other" user could read if the gate directory were o+x: it gives no way above it (``..``
lands in the gate, which still refuses).

Standard library only: this file's source text is part of the worker program.
"""

import ctypes
import os
import sys
import types

PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
CAP_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")  # /proc/<pid>/status


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def set_capabilities(libc, capabilities=()):
    """Make ``capabilities`` (numbers) this process's effective and permitted sets, and the
    inheritable set empty. Returns 0 or an errno."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for cap in capabilities:
        data[cap // 32].effective |= 1 << (cap % 32)
        data[cap // 32].permitted |= 1 << (cap % 32)
    return 0 if libc.capset(ctypes.byref(header), data) == 0 else ctypes.get_errno()


def drop_bounding_and_ambient(libc):
    """As root, before the uid switch (CAP_SETPCAP is needed): empty the bounding set and the
    ambient set, so no capability can come back, not even through an exec seccomp refuses."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            last = int(handle.read())
    except (OSError, ValueError):
        last = 63
    for cap in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def _open_to_others(path, wanted):
    try:
        return os.stat(path).st_mode & wanted == wanted
    except OSError:
        return False


def entry_point(root):
    """The topmost directory of ``root``'s path (``root`` itself at most) below the last one
    other users cannot traverse, or None when ``root`` itself is closed to them (then no
    descriptor helps: its own files need o+rx)."""
    if not _open_to_others(root, 0o005):
        return None
    entry = root
    while entry != "/":
        parent = os.path.dirname(entry)
        if not _open_to_others(parent, 0o001):
            return entry
        entry = parent
    return entry


def reach_by_descriptor(roots):
    """Open each root's entry point (see :func:`entry_point`) and rewrite the import system's
    paths below them to ``/proc/self/fd/N``. Returns {entry point: fd}, or None when some
    root cannot be reached this way (nothing is changed then)."""
    entries = {}
    for root in roots:
        entry = entry_point(root)
        if entry is None:
            return None
        entries[entry] = None
    for entry in sorted(entries, key=len):
        if any(entry.startswith(other.rstrip("/") + "/") for other in entries if entries[other]):
            continue  # inside one already opened
        entries[entry] = os.open(entry, os.O_PATH | os.O_DIRECTORY)
    opened = {entry: fd for entry, fd in entries.items() if fd is not None}
    places = sorted(opened.items(), key=lambda item: -len(item[0]))

    folders = {}  # folder -> where it moved: a few dozen folders hold every module

    def moved_folder(folder):
        if folder not in folders:
            real = os.path.realpath(folder)
            folders[folder] = real  # a link's own folder may be closed (a venv linked from one)
            for entry, fd in places:
                if real == entry or real.startswith(entry.rstrip("/") + "/"):
                    folders[folder] = f"/proc/self/fd/{fd}{real[len(entry.rstrip('/')) :]}"
                    break
        return folders[folder]

    def moved(path):
        if type(path) is not str or not path.startswith("/"):
            return path
        if os.path.basename(path) and "." in os.path.basename(path):  # a module's file
            return os.path.join(moved_folder(os.path.dirname(path)), os.path.basename(path))
        return moved_folder(path)

    sys.path[:] = [moved(path) for path in sys.path]
    module_dict = types.ModuleType.__dict__["__dict__"]
    for module in list(sys.modules.values()):
        if not issubclass(type(module), types.ModuleType):
            continue
        # The module's dict, never getattr: a lazy module's __getattr__ would import now.
        namespace = module_dict.__get__(module)
        search = namespace.get("__path__")
        if type(search) is list:
            search[:] = [moved(path) for path in search]
        if type(namespace.get("__file__")) is str:
            namespace["__file__"] = moved(namespace["__file__"])
    sys.path_importer_cache.clear()
    return opened


def drop_all(libc):
    """Empty the effective, permitted and inheritable sets; raises OSError if it fails."""
    error = set_capabilities(libc, ())
    if error:
        raise OSError(error, f"capset failed: {os.strerror(error)}")


def nothing_held(status):
    """True when a /proc/<pid>/status ({field: value}) shows no capability in any set."""
    return all(int(status.get(name, "1").strip() or "1", 16) == 0 for name in CAP_FIELDS)
