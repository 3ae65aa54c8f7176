"""One numpy, scipy and matplotlib for every supported Python (requirements-lock.txt), and
results.json records the versions that graded (grader/versions.py).

CI runs this module under Python 3.10 and 3.12 (.ci/run): the same file gets the same grade
under both because both install the same pins. The file graded here is correct but takes
``math.sqrt`` of a (1, 1) array, which numpy 2.2 converts (with a DeprecationWarning) and
numpy 2.4 refuses with a TypeError: with the lock's former per-Python pins it scored 100
under 3.10 and 50 under 3.11+.
"""

import json
import subprocess
import sys
import warnings
from importlib import metadata

import numpy as np
from packaging.requirements import Requirement

from grader import checks, config, grade, secret, versions
from grader.paths import PROJECT_ROOT
from tests import submission_fixtures
from tests.fake_sandbox import FakeSandbox

SQRT_OF_ARRAY = submission_fixtures.discover()["correct/math_sqrt_of_array"].upload()


def _pins() -> dict:
    """name -> version pinned in requirements-lock.txt, for this Python."""
    found = {}
    for line in (PROJECT_ROOT / "requirements-lock.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate():
                (spec,) = req.specifier
                found[req.name] = spec.version
    return found


def test_the_lock_pins_one_version_of_each_for_every_python():
    lines = (PROJECT_ROOT / "requirements-lock.txt").read_text().splitlines()
    assert not [line for line in lines if ";" in line and not line.startswith("#")]


def test_the_installed_numpy_scipy_and_matplotlib_are_the_pinned_ones():
    pins = _pins()
    for name in ("numpy", "scipy", "matplotlib"):
        assert metadata.version(name) == pins[name], name


def test_a_file_whose_grade_depends_on_numpy_gets_full_marks():
    ctx = checks.Context.for_grading(FakeSandbox.from_file(SQRT_OF_ARRAY), checks.load_reference(),
                                     secret.development())  # fmt: skip
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # numpy 2.2's DeprecationWarning, by design
        outcomes = {c: checks.run(c, ctx) for c in checks.ids()}
    failed = {c: o.feedback[:300] for c, o in outcomes.items() if not o.passed}
    assert not failed, f"under Python {sys.version.split()[0]}, numpy {np.__version__}: {failed}"


def test_results_record_the_versions_that_graded(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "grader", str(SQRT_OF_ARRAY), "--results", str(tmp_path / "r.json"),
         "--quiet"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] == config.load().max_score, data["tests"]
    assert data["extra_data"]["versions"] == versions.installed()
    recorded = data["extra_data"]["versions"]
    assert recorded["python"] == sys.version.split()[0]
    assert recorded["numpy"] == _pins()["numpy"] and recorded["scipy"] == _pins()["scipy"]


def test_grade_records_versions_even_without_a_file(tmp_path):
    grade.grade_submission(None, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["extra_data"]["versions"]["numpy"]
