"""Keep the sandbox user out of the grader's checkout when grading as root.

On Gradescope, run_autograder takes group/other permissions off ``source/`` (the grader and
the reference solution) and ``results/``. A root grading anywhere else (CI, an instructor's
machine, a batch) runs from a checkout whose files are world-readable: the solution, the
correct submission fixtures under tests/, the autograder zip in dist/, and every one of them
again inside .git's objects. A submission running as the sandbox user could read and exec
any of them.

So before the first worker starts, a root grader takes group/other permissions off every
top-level entry of the project except its virtualenvs (the worker's interpreter comes from one), and
leaves the project directory itself traversable but not listable (o=x), so the worker can
still reach that interpreter. Nothing changes for non-root users (the sandbox then runs as
the same user and file permissions cannot separate them; docs/grading.md, "The sandbox").
"""

import os
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


def protect_checkout(root: Path = paths.PROJECT_ROOT) -> list:
    """As root: make ``root``'s contents unreadable to other users; returns what changed."""
    if os.geteuid() != 0:
        return []
    root = root.resolve()
    keep = _interpreter_entry(root)
    changed = []
    for entry in sorted(root.iterdir()):
        # Virtualenvs hold only installed packages, and any of them (.venv, .venv-3.10, ...)
        # may be the interpreter of a grading running at the same time.
        if entry.name == keep or entry.is_symlink() or (entry / "pyvenv.cfg").is_file():
            continue
        mode = entry.lstat().st_mode
        if mode & 0o077:
            os.chmod(entry, stat.S_IMODE(mode) & ~0o077)
            changed.append(entry.name)
    mode = stat.S_IMODE(root.stat().st_mode)
    wanted = (mode & ~0o077) | 0o011  # traverse only for group and others
    if mode != wanted:
        os.chmod(root, wanted)
        changed.append(".")
    return changed
