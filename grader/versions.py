"""The versions that grade: Python, numpy and scipy, as results.json's
``extra_data.versions`` records them (the batch report shows them).

The worker runs the grader's own interpreter (grader/sandbox/process.py), so these are the
versions the submission ran with too. requirements-lock.txt pins one numpy and one scipy for
every supported Python, so two gradings that record the same versions grade alike.
"""

import platform
from importlib import metadata

PACKAGES = ("numpy", "scipy")


def installed() -> dict:
    """{"python": "3.10.13", "numpy": "2.2.6", "scipy": "1.15.3"}: read without importing."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
