"""The Gradescope flow: ``python -m grader autograde`` (called by ``run_autograder``).

It finds the student's file in ``$AUTOGRADER_ROOT/submission``, grades it with
:func:`grader.grade.grade_submission` (which runs the student's code in a sandboxed worker,
never in this process) and leaves ``$AUTOGRADER_ROOT/results/results.json``.

Finding the file is forgiving, because students upload what their browser saved:
``gmm1d.py`` at the top level wins; otherwise the one Python file whose *text* defines
``class GMM1D`` (``gmm1d (2).py``, ``lab3/gmm1d.py``, ``my_em.py``). The feedback always says
which file was graded and which others were ignored.

Security: this process runs as root and reads files the student controls, so

* candidate files are only ever *read* (a regex over their text, at most ``MAX_READ_BYTES``):
  importing one would run the student's code with the grader's privileges;
* symbolic links are never followed: a link named ``gmm1d.py`` pointing at
  ``source/solution/gmm1d.py`` would otherwise have root read the reference solution and grade
  *it* as the student's work.
"""

import argparse
import itertools
import json
import os
import re
import sys
from pathlib import Path

from grader import paths
from grader.feedback import code

MAX_READ_BYTES = 1_000_000  # enough for any honest gmm1d.py; caps what a hostile upload costs us
IGNORED_DIRS = {"__MACOSX", "__pycache__"}  # plus every dot-directory (.git, .ipynb_checkpoints)
MAX_LISTED = 10  # files named in a note, so a huge upload cannot flood the feedback
MAX_FILES = 5000  # files examined at most: a huge upload (a whole home directory) stays cheap

NOTEBOOK_FILENAME = "gmm1d.ipynb"
_CLASS_RE = re.compile(rb"^[ \t]*class[ \t]+" + re.escape(paths.CLASS_NAME.encode()) + rb"\b", re.M)


def _defines_class(path: Path) -> bool:
    """True when the file's text has a ``class GMM1D`` statement (read as bytes, never imported)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(MAX_READ_BYTES)
    except OSError:
        return False
    return _CLASS_RE.search(head) is not None


def _is_inside(path: Path, directory: Path) -> bool:
    """True when ``path`` is a regular file that really lives under ``directory`` (no links)."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def _walk_files(directory: Path):
    """Every regular file under ``directory``, skipping dotfiles, ``__MACOSX`` and links."""
    for top, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in IGNORED_DIRS)
        for name in sorted(files):
            if name.startswith("."):  # includes macOS "._gmm1d.py" resource forks
                continue
            path = Path(top) / name
            if _is_inside(path, directory):
                yield path


def _preference(path: Path, directory: Path):
    """Sort key among several candidates: a name starting with gmm1d, then shallowest, shortest."""
    rel = path.relative_to(directory)
    return (not rel.name.lower().startswith("gmm1d"), len(rel.parts), len(str(rel)), str(rel))


def _listing(paths_, directory: Path) -> str:
    # Upload names are the student's: inline code, whatever characters they hold.
    names = [code(str(p.relative_to(directory))) for p in paths_[:MAX_LISTED]]
    more = len(paths_) - MAX_LISTED
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _notebooks(files, directory: Path) -> list:
    """The notebook to grade when no Python file defines the class: ``gmm1d.ipynb`` (the
    shallowest), else the only ``.ipynb`` of the upload (several others: none, the student
    must say which). Never opened here: grader/grade.py parses it (grader/notebook.py)."""
    notebooks = [p for p in files if p.suffix.lower() == ".ipynb"]
    named = [p for p in notebooks if p.name.lower() == NOTEBOOK_FILENAME]
    if named:
        return sorted(named, key=lambda p: _preference(p, directory))
    return notebooks if len(notebooks) == 1 else []


def find_submission(directory):
    """Find the file to grade in ``directory``; returns ``(path or None, note for the student)``.

    Order: ``gmm1d.py`` at the top level; else the ``*.py`` files (any depth) whose text defines
    ``class GMM1D``, preferring a name that starts with ``gmm1d``, then the shallowest and
    shortest path; else ``gmm1d.ipynb`` or the only notebook (:func:`_notebooks`); else any file
    named ``gmm1d.py`` (its missing class is then reported by the checks). ``None`` means
    nothing gradable was uploaded; the note then lists what was.
    """
    directory = Path(directory)
    wanted = paths.SUBMISSION_FILENAME
    if not directory.is_dir():
        return None, f"Nothing was uploaded. Upload your finished `{wanted}`."

    top = directory / wanted
    if _is_inside(top, directory):
        return top, f"Graded `{wanted}`."

    files = list(itertools.islice(_walk_files(directory), MAX_FILES))
    python_files = [p for p in files if p.suffix.lower() == ".py"]
    candidates = sorted(
        (p for p in python_files if _defines_class(p)), key=lambda p: _preference(p, directory)
    )
    if not candidates:
        candidates = _notebooks(files, directory)
    if not candidates:
        candidates = sorted(
            (p for p in python_files if p.name.lower() == wanted),
            key=lambda p: _preference(p, directory),
        )
    if candidates:
        chosen, others = candidates[0], candidates[1:]
        rel = chosen.relative_to(directory)
        note = f"Graded {code(str(rel))}"
        if str(rel) not in (wanted, NOTEBOOK_FILENAME):
            note += f" (no file was named `{wanted}` at the top level of your upload)"
        note += "."
        if others:
            what = (
                f"Also named `{NOTEBOOK_FILENAME}`"
                if chosen.suffix.lower() == ".ipynb"
                else f"Also defining `class {paths.CLASS_NAME}`"
            )
            note += f" {what}, not graded: {_listing(others, directory)}."
        return chosen, note

    note = (
        f"No `{wanted}` was found, and no Python file in your upload defines "
        f"`class {paths.CLASS_NAME}`."
    )
    if sum(p.suffix.lower() == ".ipynb" for p in files) > 1:
        note += f" Of its several notebooks, none is named `{NOTEBOOK_FILENAME}`."
    if files:
        note += f" Your upload contained: {_listing(files, directory)}."
        if any(p.name == paths.HINT_FILENAME for p in files):
            note += f" (`{paths.HINT_FILENAME}` is the course's two-cluster hint, not your lab.)"
    else:
        note += " Your upload was empty."
    note += f" Upload your finished `{wanted}` (or `{NOTEBOOK_FILENAME}`)."
    return None, note


def _student_names(metadata_path: Path) -> str:
    """Names from ``submission_metadata.json`` for the instructor's log ('' when unavailable)."""
    try:
        with open(metadata_path, "rb") as handle:
            metadata = json.loads(handle.read(MAX_READ_BYTES))
        return ", ".join(str(user.get("name", "?")) for user in metadata.get("users", []))
    except (OSError, ValueError, AttributeError, TypeError):
        return ""


def main(argv=None):
    """``python -m grader autograde [--submission DIR] [--results PATH]``; 0 once results exist.

    Any exception (including ``grader.sandbox.SandboxError``: our side, not the student's)
    propagates: ``run_autograder`` then writes a fallback results.json explaining the failure.
    """
    parser = argparse.ArgumentParser(
        prog="python -m grader autograde", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--submission", type=Path, default=None, help="default: $AUTOGRADER_ROOT/submission"
    )
    parser.add_argument(
        "--results", type=Path, default=None, help="default: $AUTOGRADER_ROOT/results/results.json"
    )
    args = parser.parse_args(argv)
    submission_dir = args.submission or paths.submission_dir()
    results_path = args.results or paths.results_json()

    # run_autograder sweeps this grader's sandbox uids if it dies before cleaning up itself.
    paths.grader_pid_file().write_text(f"{os.getpid()}\n")
    names = _student_names(paths.submission_metadata())
    if names:
        print(f"Student(s): {names}")
    found, note = find_submission(submission_dir)
    print(note)
    sys.stdout.flush()

    from grader.grade import grade_submission  # imported late: a broken grader still logs the above

    result = grade_submission(found, results_path, note=note)  # run_autograder checks the file
    print(f"Score: {result.score:g} / {result.max_score:g}; results written to {results_path}")
    return 0
