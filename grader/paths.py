"""Every filesystem location the grader knows about, in one place.

Gradescope's layout (see README, "How grading works"): the zip is unpacked into
``$AUTOGRADER_ROOT/source``; each run finds the upload in ``submission/`` and must leave
``results/results.json``. ``AUTOGRADER_ROOT`` defaults to ``/autograder`` and can be set so
the whole flow runs in a temporary directory on any machine.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOLUTION_PATH = PROJECT_ROOT / "solution" / "gmm1d.py"
CONFIG_PATH = PROJECT_ROOT / "grader" / "config.ini"

SUBMISSION_FILENAME = "gmm1d.py"
CLASS_NAME = "GMM1D"

# The unprivileged account student code runs as when the grader runs as root.
SANDBOX_USER = "student"
SANDBOX_FALLBACK_USER = "nobody"


def autograder_root() -> Path:
    """``$AUTOGRADER_ROOT``, read at call time so tests can point it elsewhere."""
    return Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))


def source_dir() -> Path:
    return autograder_root() / "source"


def submission_dir() -> Path:
    return autograder_root() / "submission"


def results_dir() -> Path:
    return autograder_root() / "results"


def results_json() -> Path:
    return results_dir() / "results.json"


def submission_metadata() -> Path:
    return autograder_root() / "submission_metadata.json"
