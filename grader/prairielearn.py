"""The PrairieLearn flow: ``python -m grader prairielearn [--grade-root DIR]``.

PrairieLearn's external grader (docs/prairielearn.md) starts the question's container with the
job under ``/grade``: the upload in ``student/``, our grader (with the course secret) in
``serverFilesCourse/gmm1d/``, and expects ``results/results.json``. This flow finds the upload
exactly as on Gradescope (:func:`grader.gradescope.find_submission`: gmm1d.py, a renamed
.py, or the notebook), grades it with :func:`grader.grade.grade_submission` (same sandbox,
checks and keyed inputs) and writes PrairieLearn's results
(:func:`grader.writers.prairielearn.to_prairielearn_dict`). The entrypoint script around it
(``prairielearn/entrypoint``) writes a not-gradable fallback when this process fails.

``--grade-root`` (or ``$GMM1D_GRADE_ROOT``) replaces ``/grade``, so ``make try-prairielearn``
and the tests run the same flow in a temporary folder.

Security, as root in PrairieLearn's container: the student's code runs only in the sandbox's
worker, under a throwaway uid where the machine allows (grader/sandbox/isolation.py); before
it starts, group and other permissions come off everything under the grade root but the
upload (the grader, the solution and the course secret, the question's data and tests, the
results), as run_autograder does on Gradescope.
"""

import argparse
import os
import stat
import sys
from pathlib import Path

from grader import report

GRADE_ROOT_ENV = "GMM1D_GRADE_ROOT"
PRIVATE_ENTRIES = ("serverFilesCourse", "tests", "data", "results")


def grade_root(value=None) -> Path:
    return Path(value or os.environ.get(GRADE_ROOT_ENV) or "/grade")


def protect(root: Path) -> list:
    """As root: group/other permissions off the grade root's private entries (not listable:
    the root itself keeps only traversal for others); returns what changed."""
    if os.geteuid() != 0:
        return []
    changed = []
    for name in PRIVATE_ENTRIES:
        entry = root / name
        if entry.is_dir() and not entry.is_symlink():
            os.chmod(entry, stat.S_IMODE(entry.lstat().st_mode) & ~0o077)
            changed.append(name)
    mode = stat.S_IMODE(root.stat().st_mode)
    if mode & 0o066:
        os.chmod(root, (mode & ~0o077) | 0o011)
        changed.append(".")
    return changed


def main(argv=None):
    """Grade ``ROOT/student`` and write ``ROOT/results/results.json``; 0 once it is written.

    Any exception propagates: the entrypoint script then writes a not-gradable fallback.
    """
    parser = argparse.ArgumentParser(
        prog="python -m grader prairielearn", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--grade-root",
        default=None,
        help=f"the job's root (default: ${GRADE_ROOT_ENV}, else /grade)",
    )
    args = parser.parse_args(argv)
    root = grade_root(args.grade_root)
    results_dir = root / "results"
    results_dir.mkdir(mode=0o700, exist_ok=True)
    results_path = results_dir / "results.json"
    protected = protect(root)
    if protected:
        print(f"prairielearn: permissions restricted on {', '.join(protected)}")

    from grader.grade import grade_submission
    from grader.gradescope import find_submission  # late: a broken grader still logs the above
    from grader.writers.prairielearn import to_prairielearn_dict

    found, note = find_submission(root / "student")
    print(note)
    sys.stdout.flush()
    result = grade_submission(found, None, note=note)
    data = to_prairielearn_dict(result)
    report.write_atomic(results_path, data, mode=0o600)
    print(f"Score: {result.score:g} / {result.max_score:g}; gradable: {data['gradable']}")
    for key in ("sandbox", "grader_error", "inputs"):
        if key in result.extra:
            print(f"{key}: {result.extra[key]}")
    return 0
