"""Keep the sandbox user out of the grader's checkout when grading as root without Landlock.

On Gradescope, run_autograder takes group/other permissions off ``source/`` (the grader and
the reference solution) and ``results/``. A root grading anywhere else (CI, an instructor's
machine, a batch) runs from a checkout whose files are world-readable: the solution, the
correct submission fixtures under tests/, the autograder zip in dist/, and every one of them
again inside .git's objects.

Where Landlock holds, the worker reads only its interpreter's tree whatever the file modes,
so nothing here changes (a checkout's permissions are the instructor's: a colleague's clone
of a locked checkout fails). Where it does not (kernels before 5.13, or turned off), file
modes are all that keeps the throwaway uid out: before the first worker starts, a root
grader takes group/other permissions off every top-level entry of the project except its
virtualenvs (the worker's interpreter comes from one), leaves the project directory itself
traversable but not listable (o=x), and says on stderr what it changed and how to undo it.
Nothing changes for non-root users (the sandbox then runs as the same user and file
permissions cannot separate them; docs/grading.md, "The sandbox").
"""

import os
import shlex
import stat
import sys
from pathlib import Path

from grader import paths


def _interpreter_entry(root: Path):
    """The top-level entry of ``root`` holding the running virtualenv, if it is inside."""
    try:
        relative = Path(sys.prefix).resolve().relative_to(root)
    except ValueError:
        return None
    return relative.parts[0] if relative.parts else None


def protect_checkout(root: Path = paths.PROJECT_ROOT, support=None) -> list:
    """As root without Landlock: make ``root``'s contents unreadable to other users; returns
    what changed (names of top-level entries, "." for ``root`` itself). ``support``: the
    sandbox's isolation.Support (detected when None)."""
    if os.geteuid() != 0:
        return []
    if support is None:
        from grader.sandbox import isolation

        support = isolation.kernel_support()
    if support.landlock_abi:  # Landlock keeps the worker out, whatever the modes say
        return []
    root = root.resolve()
    keep = _interpreter_entry(root)
    changed = {}  # name -> mode before
    for entry in sorted(root.iterdir()):
        # Virtualenvs hold only installed packages, and any of them (.venv, .venv-3.10, ...)
        # may be the interpreter of a grading running at the same time.
        if entry.name == keep or entry.is_symlink() or (entry / "pyvenv.cfg").is_file():
            continue
        mode = stat.S_IMODE(entry.lstat().st_mode)
        if mode & 0o077:
            os.chmod(entry, mode & ~0o077)
            changed[entry.name] = mode
    mode = stat.S_IMODE(root.stat().st_mode)
    wanted = (mode & ~0o077) | 0o011  # traverse only for group and others
    if mode != wanted:
        os.chmod(root, wanted)
        changed["."] = mode
    if changed:
        print(undo_message(root, changed), file=sys.stderr)
    return list(changed)


def undo_message(root: Path, changed: dict) -> str:
    """What the lockdown changed (``changed``: name -> mode before) and the exact commands
    that restore it: only top-level modes change, so a recursive ``chmod -R go+rX`` would be
    wrong (it would open the course secret, mode 0600 inside grader/, to everyone)."""
    by_mode = {}
    for name, mode in changed.items():
        by_mode.setdefault(mode, []).append(shlex.quote(str(root / name if name != "." else root)))
    undo = " && ".join(f"chmod {mode:o} {' '.join(names)}" for mode, names in by_mode.items())
    return (
        "grader: without Landlock, file modes keep the sandbox's uid out of this checkout: "
        f"took group/other permissions off {', '.join(changed)} in {root}. "
        f"To undo after grading: {undo}"
    )
