"""Confinement the worker applies to itself, in order, before it imports the submission.

The grader starts the worker's interpreter (as itself: root on Gradescope, the instructor
on a laptop) with a *plan* (grader/sandbox/isolation.py). :func:`apply` then, irreversibly:

1. **Identity** (plan has a uid, i.e. the grader is root): drops every group and switches
   to the grading's throwaway uid, so files, signals and ptrace follow the "other users"
   permissions; the bounding and ambient capability sets are emptied first. If that uid
   could not reach the interpreter's own files (pyenv under a mode-700 /root, a clone in a
   private directory), the worker holds one capability, CAP_DAC_READ_SEARCH, and only
   when Landlock's allow-list below bounds it, until the preload (step 3) is done; then it
   reaches those trees through descriptors and drops it (grader/sandbox/capability.py),
   so student code runs with no capability at all. Only if a tree cannot be reached that
   way (the interpreter's own directory closed to others) is the capability kept, named in
   every report.
2. **Dies with the grader** (PR_SET_PDEATHSIG, set after the uid switch, which clears it).
3. **Landlock** (grader/sandbox/landlock.py): read and execute only the interpreter's own
   tree (prefix, standard library, site-packages, the directories of its shared
   libraries), read its own /proc entries and its private directory (the working
   directory, holding only the copy of the upload), write nothing (so nothing to bound or
   remove: no disk or inode flood); no TCP; no signals or abstract sockets outside its
   domain. Then the modules the plan preloads (matplotlib, when the submission mentions it).
4. **Resource limits**: address space, CPU, file size, open files, no core dumps, no new
   processes or threads (RLIMIT_NPROC 0 for this uid), no POSIX message queue bytes.
5. **seccomp** (grader/sandbox/seccomp.py): the allow-list, last, so the steps above can use
   the calls it refuses (it knows the worker's pid: kill, prlimit and the like only on it).

It returns a report of what is in force, which the worker sends in its "ready" frame
(before any student code has run, so the report is still ours); the grader checks it
against what the kernel offers and refuses to grade with less (never silently weaker).
The plan names the Landlock ABI and whether to filter with seccomp, as the grader detected
them (minus what GMM1D_SANDBOX_WITHOUT turns off on purpose, for tests).

Standard library only: this file's source text is part of the worker program.
"""

import ctypes
import os
import resource
import signal
import sys
import time

from grader.sandbox import capability, landlock, seccomp

CAP_DAC_READ_SEARCH = 2
PR_SET_PDEATHSIG, PR_SET_KEEPCAPS = 1, 8
SYSTEM_LIBRARY_DIRS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64")
SYSTEM_PREFIXES = ("/usr", "/usr/local")  # a system Python's prefix: too broad to allow whole
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")
NOT_LIBRARY_PLACES = ("/dev/", "/proc/", "/sys/", "/run/", "/tmp/", "/var/tmp/", "/memfd:")


class ConfineError(Exception):
    """The worker could not confine itself; it must not import the submission."""


def interpreter_roots():
    """The directories this interpreter reads and executes from (real paths, no duplicates):
    its prefixes, sys.path, its executable's directory, and the directory of every regular
    file it has mapped (shared libraries of numpy and the C library).

    Never "/" or a directory above the working directory, and nothing mapped from a shared,
    writable or virtual place: a root there would open far more than the interpreter. A
    system interpreter's prefix (``/usr``, ``/usr/local``: Gradescope's venv is built on
    /usr/bin/python3) is the whole system tree, so there its sys.path entries stand in."""
    found = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]
    found = [p for p in found if os.path.realpath(p) not in SYSTEM_PREFIXES]
    found += [p for p in sys.path if p]
    found.append(os.path.dirname(os.path.realpath(sys.executable)))
    try:
        with open("/proc/self/maps") as handle:
            for line in handle:
                parts = line.split(None, 5)
                mapped = parts[5].strip() if len(parts) == 6 else ""
                if mapped.startswith("/") and not mapped.startswith(NOT_LIBRARY_PLACES):
                    if os.path.isfile(mapped):
                        found.append(os.path.dirname(mapped))
    except OSError:
        pass
    cwd = os.path.realpath(os.getcwd())
    roots = []
    for path in found:
        real = os.path.realpath(path)
        above_cwd = real == "/" or cwd.startswith(real.rstrip("/") + "/")
        if os.path.isdir(real) and not above_cwd and real not in roots:
            roots.append(real)
    return roots


def _reachable_by_others(directory):
    """True when an unprivileged stranger can traverse to ``directory`` and list it."""
    path = directory
    wanted = 0o005
    while True:
        try:
            if os.stat(path).st_mode & wanted != wanted:
                return False
        except OSError:
            return False
        if path == "/":
            return True
        path, wanted = os.path.dirname(path), 0o001


def _keep_only_read_capability(libc):
    error = capability.set_capabilities(libc, [CAP_DAC_READ_SEARCH])
    if error:
        raise ConfineError(f"capset failed: {os.strerror(error)}")


def _switch_identity(plan, libc, roots, will_landlock):
    """Become the grading's uid; returns the capability kept (or None)."""
    uid, gid = plan["uid"], plan["gid"]
    keep = None
    if not all(_reachable_by_others(root) for root in roots):
        if not will_landlock:
            unreachable = next(r for r in roots if not _reachable_by_others(r))
            raise ConfineError(
                f"an unprivileged uid cannot reach the interpreter's files ({unreachable}) and "
                "Landlock, which would bound a read capability, is unavailable: use an "
                "interpreter other users can run (every directory above it needs o+x)"
            )
        keep = "CAP_DAC_READ_SEARCH"  # until the preload: then reach_by_descriptor
        libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)
    capability.drop_bounding_and_ambient(libc)  # needs root: now or never
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if keep:
        _keep_only_read_capability(libc)
        libc.prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0)
    else:
        capability.drop_all(libc)  # the switch leaves the inheritable set as it was
    if os.getresuid() != (uid, uid, uid) or os.getgroups():
        raise ConfineError("the uid switch did not take effect")
    return keep


def _set_limits(plan):
    for name, value in plan["rlimits"].items():
        soft, hard = value if isinstance(value, list) else (value, value)
        resource.setrlimit(getattr(resource, "RLIMIT_" + name), (soft, hard))


def _preload(modules):
    """Import ``modules`` now, our code still, after Landlock (so what they find on disk is
    what the submission will see) and before the limits: matplotlib builds its font cache
    on first import with a timer thread, which RLIMIT_NPROC=0 would refuse. A module that
    is missing is left for the submission's own import to report.

    Nothing can be written (Landlock gives no write access; as root without it, the private
    directory is root's): matplotlib then builds its font list in memory, as it did in each
    fresh private directory before, and would log "Could not save font_manager cache" (or,
    without Landlock, cache in /tmp, swept at close). That warning is ours, not the
    student's: the preloaded packages' loggers are quiet while they load."""
    if not modules:
        return
    import logging

    loggers = [logging.getLogger(name.split(".")[0]) for name in modules]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        for name in modules:
            try:
                __import__(name)
            except Exception:  # noqa: BLE001 - the submission's import will say what is wrong
                pass
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def apply(plan):
    """Confine this process as ``plan`` says; returns the report (see the module docstring).
    Raises ConfineError (or OSError) when a layer the kernel offers could not be applied."""
    started = time.perf_counter()
    libc = ctypes.CDLL(None, use_errno=True)
    abi, use_seccomp = plan["landlock_abi"], plan["seccomp"]
    if use_seccomp:  # loaded now: the limits and Landlock would keep the library from opening
        loaded, why = seccomp.available()
        if not loaded:
            raise ConfineError(why)
    seccomp_seconds = time.perf_counter() - started
    roots = interpreter_roots()
    report = {"uid": os.getuid(), "capability": None, "landlock": [], "seccomp": 0,
              "seccomp_unknown": []}  # fmt: skip
    if plan.get("uid") is not None:
        report["capability"] = _switch_identity(plan, libc, roots, will_landlock=abi > 0)
        report["uid"] = os.getuid()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != plan["parent_pid"]:  # the grader died before PDEATHSIG was set
        os._exit(70)
    try:  # if memory runs out anyway, the kernel should kill the worker, not the grader
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass
    landlock_started = time.perf_counter()
    if abi:
        rules = {root: landlock.READ for root in roots + list(SYSTEM_LIBRARY_DIRS)}
        rules.update({device: landlock.READ_WRITE_FILE for device in DEVICES})
        rules["/proc/self"] = landlock.READ_NO_EXEC
        rules[os.getcwd()] = landlock.READ_NO_EXEC  # no writes anywhere: nothing to bound or sweep
        report["landlock"] = landlock.restrict(rules, abi)
    landlock_ended = time.perf_counter()
    _preload(plan.get("preload", ()))
    if report["capability"]:  # everything loaded with it is loaded: reach the rest by fd
        unreachable = [root for root in roots if not _reachable_by_others(root)]
        if capability.reach_by_descriptor(unreachable) is not None:
            capability.drop_all(libc)
            report["capability"] = None
    _set_limits(plan)
    seccomp_started = time.perf_counter()
    if use_seccomp:
        report["seccomp"], report["seccomp_unknown"] = seccomp.install(plan.get("seccomp_log"))
    ended = time.perf_counter()
    # What the kernel layers cost this start (make bench reports the medians).
    report["seconds"] = {
        "landlock": landlock_ended - landlock_started,
        "seccomp": seccomp_seconds + ended - seccomp_started,
        "all": ended - started,
    }
    return report
