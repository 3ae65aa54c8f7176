"""The PrairieLearn entrypoint in a bare Debian root, the way PrairieLearn's container runs it.

The root filesystem is Debian 13 (trixie) ``--variant=minbase`` plus only the image's
scientific stack from Debian's packages: python3 (3.13, as in prairielearn/grader-python),
numpy, scipy and matplotlib, and nothing else (no markdown-it-py: the question ships it in
``vendor/``; no pip; no network is used after the build). The built question's
``serverFilesCourse/gmm1d`` goes to ``/grade/serverFilesCourse/gmm1d``, an upload to
``/grade/student``, and ``entrypoint`` runs as root inside ``chroot`` with a clean
environment: the reference must get 1.0, the stub 0, and nothing uploaded must be not
gradable.

Reuses tests/test_images.py's image helpers (only ``proc`` mounted, always unmounted, the image
deleted with ``rm -rf --one-file-system``). Root only; skipped, saying why, without
mmdebstrap or when deb.debian.org cannot be reached. ``make test-images`` runs it.
"""

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from grader import package_prairielearn as plpack
from tests import prairielearn_schema
from tests.test_images import (
    BUILD_TIMEOUT,
    MIRROR,
    RUN_TIMEOUT,
    Image,
    delete_image,
    mounts_under,
    reachable,
    timed,
    unmount,
)
from tests.test_images import pytestmark as image_marks

ROOT = Path(__file__).resolve().parent.parent
SUITE = "trixie"
PACKAGES = "python3,python3-numpy,python3-scipy,python3-matplotlib"
pytestmark = image_marks


class PrairieLearnImage(Image):
    """A bare Debian root with Python and its scientific stack, like grader-python's."""

    def build(self):
        start = time.monotonic()
        build = subprocess.run(
            ["mmdebstrap", "--variant=minbase", f"--include={PACKAGES}", self.suite,
             str(self.dir), MIRROR],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
        )  # fmt: skip
        assert build.returncode == 0, f"mmdebstrap {self.suite} failed:\n{build.stderr[-4000:]}"
        timed(f"{self.suite}: mmdebstrap with {PACKAGES}", time.monotonic() - start)

    def grade(self, submission):
        """A fresh /grade with ``submission`` (or nothing) uploaded; runs the entrypoint as
        PrairieLearn does; returns (results dict, raw bytes, log)."""
        grade = self.dir / "grade"
        for name in ("student", "results", "tests", "data"):
            shutil.rmtree(grade / name, ignore_errors=True)
            (grade / name).mkdir(parents=True)
        (grade / "data" / "data.json").write_text("{}")
        if submission is not None:
            shutil.copy(submission, grade / "student" / "gmm1d.py")
        status, log, seconds = self.run(
            "/grade/serverFilesCourse/gmm1d/entrypoint", RUN_TIMEOUT, ["PYTHONIOENCODING=UTF-8"]
        )
        timed(f"{self.suite}: entrypoint on {submission and submission.name}", seconds)
        assert status == 0, log
        raw = (grade / "results" / "results.json").read_bytes()
        return json.loads(raw), raw, log


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    unreachable = reachable(f"{MIRROR}/dists/{SUITE}/Release")
    if unreachable:
        pytest.skip(f"cannot build a {SUITE} image: {unreachable}")
    dist = tmp_path_factory.mktemp("dist")
    built = plpack.build(ROOT, dist / "prairielearn", dist / "course_secret")
    directory = Path(tempfile.mkdtemp(prefix=f"gmm-pl-image-{SUITE}-"))
    image = PrairieLearnImage(SUITE, directory)
    try:
        image.build()
        assert not (directory / "usr/bin/pip3").exists()
        shutil.copytree(
            built / "serverFilesCourse" / "gmm1d", directory / "grade/serverFilesCourse/gmm1d"
        )
        (directory / "grade/serverFilesCourse/gmm1d/entrypoint").chmod(0o755)  # PL's chmod +x
        yield image
    finally:
        for leftover in sorted(mounts_under(directory), reverse=True):
            unmount(Path(leftover))
        delete_image(directory)


def test_pl_image_has_no_markdown_it_so_the_vendored_copy_is_what_runs(image):
    status, output, _ = image.run("python3 -c 'import markdown_it'", 60)
    assert status != 0 and "No module named" in output


def test_pl_entrypoint_grades_the_reference_1(image):
    data, raw, log = image.grade(ROOT / "solution" / "gmm1d.py")
    assert prairielearn_schema.problems(raw) == [], log
    assert data["gradable"] is True and data["score"] == 1.0, log
    assert "Python 3.13" in image.run("python3 --version", 60)[1]
    assert "sandbox:" in log  # the layers in force, in the job's log


def test_pl_entrypoint_grades_the_stub_0(image):
    data, raw, log = image.grade(ROOT / "gmm1d.py")
    assert prairielearn_schema.problems(raw) == [], log
    assert data["gradable"] is True and data["score"] == 0.0, log


def test_pl_entrypoint_nothing_uploaded_is_not_gradable(image):
    data, raw, log = image.grade(None)
    assert prairielearn_schema.problems(raw) == [], log
    assert data["gradable"] is False and "No gmm1d.py" in json.dumps(data["format_errors"])
