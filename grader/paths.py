"""Every filesystem location the grader knows about, in one place.

Gradescope's layout (docs/instructors.md, "Put the autograder on Gradescope"): the zip is
unpacked into ``$AUTOGRADER_ROOT/source``; each run finds the upload in ``submission/`` and
must leave ``results/results.json``. ``AUTOGRADER_ROOT`` defaults to ``/autograder`` and can
be set so the whole flow runs in a temporary directory on any machine.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOLUTION_PATH = PROJECT_ROOT / "solution" / "gmm1d.py"
CONFIG_PATH = PROJECT_ROOT / "grader" / "config.ini"
# The course secret (grader/secret.py): made by make autograder, kept out of git.
COURSE_SECRET_PATH = PROJECT_ROOT / "grader" / "course_secret"

SUBMISSION_FILENAME = "gmm1d.py"
CLASS_NAME = "GMM1D"
# The course's two-cluster hint (two_gaussian_1dgm.py), which students sometimes upload.
HINT_FILENAME = "two_gaussian_1dgm.py"
HINT_CLASS_NAME = "TwoGaussian1DGM"
# What a submission may import besides Python's standard library: requirements.txt's
# runtime packages that student code can use (markdown-it-py is the grader's alone).
PROVIDED_PACKAGES = ("numpy", "scipy", "matplotlib")

# As root, student code runs under a throwaway uid per Sandbox, at or above SANDBOX_UID_BASE
# (grader/sandbox/isolation.py, sandbox_account); no account exists for it. SANDBOX_USER is
# the named unprivileged account setup.sh and the tests use to check that "any other user"
# can run the virtualenv but cannot read the grader's files.
SANDBOX_UID_BASE = 2_000_000_000
SANDBOX_USER = "student"


def autograder_root() -> Path:
    """``$AUTOGRADER_ROOT``, read at call time so tests can point it elsewhere."""
    return Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))


def submission_dir() -> Path:
    return autograder_root() / "submission"


def results_dir() -> Path:
    return autograder_root() / "results"


def results_json() -> Path:
    return results_dir() / "results.json"


def submission_metadata() -> Path:
    return autograder_root() / "submission_metadata.json"


def grader_pid_file() -> Path:
    """Where the Gradescope flow notes its pid, for run_autograder's sweep after a crash."""
    return autograder_root() / "grader.pid"
