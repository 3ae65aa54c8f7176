"""Cleaning up after a worker: processes, files and IPC, without ever failing the grading.

Everything here handles trees, processes and IPC objects a submission made, so it expects
the worst (a 3,000-level directory chain, a million files, links to the grader's files,
directories made unreadable) and gives up with a log line rather than raise: what the
student's code did after its last check must never change or erase its grade.

* :func:`remove_tree` walks with an explicit stack and directory file descriptors: no
  recursion (depth is unbounded), no path longer than one name (PATH_MAX does not apply),
  never through a symbolic link or into another filesystem, within a time bound.
* :func:`remove_files_of` (root): everything a sandbox uid owns, at any depth, in the
  world-writable places, the only ones where such a uid can create anything besides its
  private directory when Landlock could not stop the write.
* :func:`remove_ipc_of` (root): SysV shared memory, semaphores and message queues owned or
  created by those uids (RLIMIT_AS does not count detached shared memory; seccomp forbids
  creating any, this covers kernels without the filter).
* :func:`kill_uids` / :func:`kill_workers_of`: every process of a grader's sandbox uids.
"""

import contextlib
import ctypes
import os
import signal
import stat
import sys
import tempfile
import time

from grader.sandbox.isolation import PRIVATE_DIR_PREFIX, kernel_support, proc_status, uid_range

SHARED_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")
REMOVE_SECONDS = 60.0
IPC_RMID = 0
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def log(message):
    """A line for the instructor's log (the grader's stderr); students never see it."""
    with contextlib.suppress(Exception):  # the real stderr: during a check, sys.stderr is the
        # test runner's buffer, which becomes the student's feedback (and this names our paths)
        print(f"grader: cleanup: {message}", file=sys.__stderr__, flush=True)


def _open_dir(parent_fd, name):
    """A directory fd for ``name`` (never through a link); makes our own mode-000 dir usable."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except PermissionError:  # a normal account: the submission (same uid) took away u+rx
        os.chmod(name, 0o700, dir_fd=parent_fd)
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)


def _unlink(name, dir_fd, directory_is_dir=False):
    try:
        (os.rmdir if directory_is_dir else os.unlink)(name, dir_fd=dir_fd)
    except PermissionError:  # the directory itself was made read-only (same uid)
        os.chmod(dir_fd, 0o700)
        (os.rmdir if directory_is_dir else os.unlink)(name, dir_fd=dir_fd)


def _remove_dir_at(top_fd, name, device, deadline):
    """Remove directory ``name`` of ``top_fd`` and everything below it, iteratively."""
    fd = _open_dir(top_fd, name)
    here = os.fstat(fd)
    frames = [(name, (here.st_dev, here.st_ino), os.listdir(fd))]  # (name, identity, to do)
    try:
        while frames:
            if time.monotonic() > deadline:
                raise TimeoutError("time limit reached")
            dirname, identity, todo = frames[-1]
            if todo:
                entry = todo.pop()
                try:
                    info = os.stat(entry, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if not stat.S_ISDIR(info.st_mode):
                    _unlink(entry, fd)
                elif info.st_dev != device:
                    log(f"left a mount point alone: {entry}")
                else:
                    child = _open_dir(fd, entry)
                    now = os.fstat(child)
                    os.close(fd)
                    fd = child
                    frames.append((entry, (now.st_dev, now.st_ino), os.listdir(fd)))
                continue
            frames.pop()
            parent = os.open("..", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = parent
            if frames:
                info = os.fstat(fd)
                if (info.st_dev, info.st_ino) != frames[-1][1]:
                    raise OSError(f"{dirname}'s parent moved while it was being removed")
                _unlink(dirname, fd, directory_is_dir=True)
    finally:
        os.close(fd)
    _unlink(name, top_fd, directory_is_dir=True)


def _remove_at(dir_fd, name, info, deadline, shown) -> bool:
    """Remove ``name`` of ``dir_fd`` (``info``: its lstat) and all below it; True when it is
    gone. Never raises: a problem is logged."""
    try:
        if stat.S_ISDIR(info.st_mode):
            _remove_dir_at(dir_fd, name, info.st_dev, deadline)
        else:
            _unlink(name, dir_fd)
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - cleanup logs and carries on, whatever happened
        log(f"could not remove all of {shown}: {type(exc).__name__}: {exc}")
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return True
    except OSError:
        pass
    return False


def remove_tree(path, seconds=REMOVE_SECONDS) -> bool:
    """Remove ``path`` (a file, a link or a directory tree) without following links; True
    when it is gone. Never raises: a problem is logged and the rest carries on."""
    path = os.path.abspath(path)
    parent, name = os.path.split(path)
    try:
        top = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        log(f"cannot open {parent}: {exc}")
        return not os.path.lexists(path)
    try:
        info = os.stat(name, dir_fd=top, follow_symlinks=False)
    except FileNotFoundError:
        return True
    except OSError as exc:
        log(f"cannot stat {path}: {exc}")
        return False
    else:
        return _remove_at(top, name, info, time.monotonic() + seconds, path)
    finally:
        os.close(top)


def _open_below(base_fd, names):
    """A directory fd for ``names`` below ``base_fd``, opened one component at a time and
    never through a link: a directory the sandbox's code swapped for a link (to /etc, say)
    between the listing and the descent fails to open instead of leading root elsewhere."""
    fd = os.dup(base_fd)
    try:
        for name in names:
            child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def remove_files_of(uids, places=SHARED_DIRS, seconds=REMOVE_SECONDS) -> int:
    """As root: remove everything owned by ``uids`` below the world-writable ``places``, at
    any depth (descending only into real directories of the same filesystem, by directory
    fds, never by a path a link could redirect); returns how many items were removed at the
    top of what they owned. Never raises."""
    deadline = time.monotonic() + seconds
    removed = 0
    for base in dict.fromkeys([tempfile.gettempdir(), *places]):
        try:  # the places themselves are the system's (/var/lock may be a link to /run/lock)
            base_fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            device = os.fstat(base_fd).st_dev
            todo = [()]  # directories to sweep, as names below base
            while todo and time.monotonic() < deadline:
                names = todo.pop()
                try:
                    fd = _open_below(base_fd, names)
                except OSError:
                    continue  # gone, or no longer a real directory
                try:
                    for entry in os.listdir(fd):
                        try:
                            info = os.stat(entry, dir_fd=fd, follow_symlinks=False)
                        except OSError:
                            continue
                        if info.st_uid in uids:
                            shown = os.path.join(base, *names, entry)
                            removed += _remove_at(fd, entry, info, deadline, shown)
                        elif stat.S_ISDIR(info.st_mode) and info.st_dev == device:
                            todo.append((*names, entry))
                except OSError:
                    pass
                finally:
                    os.close(fd)
            if todo:
                log(f"time limit reached while sweeping {base}")
        finally:
            os.close(base_fd)
    return removed


def _ipc_table(kind):
    """Rows of /proc/sysvipc/<kind> as dicts (empty when unavailable)."""
    try:
        with open(f"/proc/sysvipc/{kind}") as handle:
            header, *rows = [line.split() for line in handle]
    except (OSError, ValueError):
        return []
    return [dict(zip(header, row)) for row in rows if len(row) == len(header)]


def remove_ipc_of(uids=(), creators=()) -> int:
    """Remove every SysV IPC object that ``uids`` own or created (root), and the shared
    memory that processes ``creators`` made (the only IPC object that names its creator's pid,
    so the one a normal account can tell from its owner's other programs'). Returns how many
    were removed. Never raises."""
    libc = ctypes.CDLL(None, use_errno=True)
    removers = {
        "shm": ("shmid", lambda ident: libc.shmctl(ident, IPC_RMID, None)),
        "sem": ("semid", lambda ident: libc.semctl(ident, 0, IPC_RMID)),
        "msg": ("msqid", lambda ident: libc.msgctl(ident, IPC_RMID, None)),
    }
    uids, creators = set(uids), set(creators)
    removed = 0
    for kind, (id_column, remove) in removers.items():
        for row in _ipc_table(kind):
            try:
                owners = {int(row["uid"]), int(row["cuid"])}
                ident = int(row[id_column])
                creator = int(row.get("cpid", -1))
            except (KeyError, ValueError):
                continue
            if owners & uids or creator in creators:
                if remove(ident) == 0:
                    removed += 1
                else:
                    log(f"could not remove SysV {kind} {ident}: errno {ctypes.get_errno()}")
    return removed


def kill_uids(uids) -> int:
    """SIGKILL every live process whose real uid is in ``uids``; returns how many."""
    killed = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = proc_status(entry)
        try:
            uid = int(fields["Uid"].split()[0])
        except (KeyError, ValueError, IndexError):
            continue
        if uid in uids and not fields.get("State", "").strip().startswith("Z"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)
                killed += 1
    return killed


def session_members(sid):
    """pids of live processes in session ``sid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 3 and int(fields[3]) == sid:
            found.append(int(entry))
    return found


def sweep_uids(uids, files=True):
    """As root: kill ``uids``' processes, then remove their IPC objects and (``files``) what
    they own in the shared places. Never raises; returns the number of processes killed."""
    killed = 0
    for step in (kill_uids, remove_ipc_of, remove_files_of if files else None):
        if step is None:
            continue
        try:
            count = step(uids)
        except Exception as exc:  # noqa: BLE001 - cleanup logs and carries on
            log(f"{step.__name__} failed: {type(exc).__name__}: {exc}")
            continue
        if step is kill_uids:
            killed = count
    return killed


def remove_private_dirs_of(gids) -> int:
    """As root: remove the private directories (a sandbox gid in ``gids``: the worker's or,
    without Landlock, root's with the worker's group) left
    at the top of the temp folders by a grader that was killed; one listing of each, never a
    walk of what else is there. Returns how many were removed. Never raises."""
    removed = 0
    for base in dict.fromkeys([tempfile.gettempdir(), "/tmp"]):
        try:
            entries = [e for e in os.scandir(base) if e.name.startswith(PRIVATE_DIR_PREFIX)]
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if (
                stat.S_ISDIR(info.st_mode)
                and info.st_gid in gids
                and info.st_uid in (0, info.st_gid)
            ):
                removed += remove_tree(entry.path)
    return removed


def kill_workers_of(grader_pid) -> int:
    """For whoever started a grader process and had to kill it (the batch's timeout): its
    workers live in sessions of their own, so killing the grader's group misses them. Kills
    every process of that grader's sandbox uids and removes what they left (IPC, their
    private directories, and, where Landlock could not refuse their writes, their files in
    the shared places: where it holds, nothing walks /tmp, so the cost of this does not grow
    with what else is there). Root only (returns 0 otherwise); never raises; returns how
    many were signalled."""
    if os.geteuid() != 0:
        return 0
    uids = uid_range(grader_pid)
    try:
        confined = kernel_support().landlock_abi > 0
    except Exception:  # noqa: BLE001 - a bad GMM1D_SANDBOX_WITHOUT: sweep everything
        confined = False
    killed = sweep_uids(uids, files=not confined)
    remove_private_dirs_of(uids)
    return killed


def main(argv):
    """``python -m grader.sandbox.cleanup GRADER_PID``: after a grader was killed (as root),
    kill and remove everything its sandbox uids left; run_autograder calls it."""
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m grader.sandbox.cleanup GRADER_PID", file=sys.stderr)
        return 2
    print(f"cleanup: {kill_workers_of(int(argv[0]))} process(es) of grader {argv[0]} killed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
