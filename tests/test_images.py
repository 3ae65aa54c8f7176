"""The autograder zip on bare Debian images, the way Gradescope uses it.

Each image is a root filesystem built by ``mmdebstrap --variant=minbase`` (no Python at all),
once per test session. The zip is unpacked into its ``/autograder/source``; ``setup.sh`` runs
twice and ``run_autograder`` once per upload, inside ``chroot``:

* Debian 12 (bookworm, Python 3.11): setup.sh installs python3 with apt-get, builds the venv
  from the zip's requirements files (whatever they say), and a second run only re-checks; the
  reference then grades 100 and the stub 0.
* Debian 11 (bullseye, Python 3.9, like the Python 3.8 of Gradescope's Ubuntu 20.04 image):
  setup.sh refuses at once, naming Python 3.9, the supported 3.10-3.12 and the fix, and
  run_autograder still leaves a valid results.json saying it is our side, with the cause in
  its log.

Root only (chroot, mount). Safety, since this runs as root: only ``proc`` is ever mounted into
an image (mmdebstrap makes the image's own ``/dev`` nodes; nothing of the host is bind-mounted),
it is unmounted in a ``finally`` and checked gone before the image is deleted with
``rm -rf --one-file-system``. Skipped, saying why, without root, without mmdebstrap (Debian's
package; .ci/run installs it) or when deb.debian.org cannot be reached. ``make test-images``
runs this module alone; ``make test`` does not (it takes minutes).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from grader import package
from tests.results_schema import max_score, score
from tests.submission_fixtures import discover

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "solution" / "gmm1d.py"
STUB = ROOT / "gmm1d.py"
# Correct files that load scipy and matplotlib: on the image's system Python, Landlock must
# allow what they read (its stdlib and site-packages), not the whole of /usr.
LIBRARY_USERS = ["correct/scipy_norm", "correct/matplotlib_at_the_top"]  # fixtures
MIRROR = "http://deb.debian.org/debian"
PROBE_TIMEOUT = 5  # seconds: is the registry there at all?
BUILD_TIMEOUT = 600  # mmdebstrap: about 15 s here, downloads included
SETUP_TIMEOUT = 900  # apt-get install python3, then pip install numpy + scipy from PyPI
RUN_TIMEOUT = 300
CHROOT_PATH = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
# The host may reach PyPI through a TLS-intercepting proxy whose CA only the host's bundle
# holds (pip's own certifi does not). The image gets a copy of that bundle and PIP_CERT, and
# nothing else of the host's pip set-up (its pip.conf points at local directories).
HOST_CA_BUNDLE = Path(os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt")
IMAGE_CA_BUNDLE = "/root/host-ca-certificates.crt"  # root: setup.sh runs pip as root

pytestmark = [
    pytest.mark.slow,
    pytest.mark.images,
    pytest.mark.timeout(1200),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: chroot and mount, as on Gradescope"),
    pytest.mark.skipif(
        shutil.which("mmdebstrap") is None,
        reason="mmdebstrap missing (apt-get install mmdebstrap; .ci/run does)",
    ),
]

TIMINGS = []  # (what, seconds), printed as they come and summed at the end


def timed(what, seconds):
    TIMINGS.append((what, seconds))
    print(f"[images] {what}: {seconds:.1f} s (total so far {sum(s for _, s in TIMINGS):.1f} s)")


def reachable(url):
    """None if ``url`` answers within PROBE_TIMEOUT seconds, else why not."""
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, method="HEAD"), timeout=PROBE_TIMEOUT
        ):
            return None
    except (urllib.error.URLError, OSError) as error:
        return f"{url} unreachable ({error})"


# --- mounts: only proc, always undone --------------------------------------------------------


def mounts_under(directory: Path):
    """Mount points at or below ``directory``, from the kernel's own table."""
    prefix = str(directory)
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as table:
        for line in table:
            target = line.split()[4].encode().decode("unicode_escape")  # \040 for a space
            if target == prefix or target.startswith(prefix + "/"):
                found.append(target)
    return found


def is_mountpoint(path: Path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(path)]).returncode == 0


def unmount(path: Path):
    if is_mountpoint(path):
        subprocess.run(["umount", str(path)])
    if is_mountpoint(path):  # still busy (a straggler): detach it from the tree now
        subprocess.run(["umount", "--lazy", str(path)])
    if is_mountpoint(path):
        raise RuntimeError(f"could not unmount {path}")


def delete_image(directory: Path):
    """rm -rf --one-file-system, and only once nothing is mounted inside."""
    left = mounts_under(directory)
    if left:
        raise RuntimeError(f"not deleting {directory}: still mounted there: {left}")
    subprocess.run(["rm", "-rf", "--one-file-system", str(directory)], check=True)


# --- one image --------------------------------------------------------------------------------


def unpack(zip_path: Path, dest: Path):
    """Like unzip (which minbase lacks): keep the modes stored in the zip (0755 scripts)."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = archive.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)


def replace_file(path: Path, data: bytes):
    """Write into the image without following a link it may hold (to a host path)."""
    if path.is_symlink():
        path.unlink()
    path.write_bytes(data)


class Image:
    """A bare Debian root filesystem with the autograder unpacked in /autograder/source."""

    def __init__(self, suite: str, directory: Path):
        self.suite = suite
        self.dir = directory
        self.autograder = directory / "autograder"

    def build(self):
        start = time.monotonic()
        build = subprocess.run(
            ["mmdebstrap", "--variant=minbase", self.suite, str(self.dir), MIRROR],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
        )
        assert build.returncode == 0, f"mmdebstrap {self.suite} failed:\n{build.stderr[-4000:]}"
        assert not (self.dir / "usr/bin/python3").exists(), "minbase is meant to have no Python"
        timed(f"{self.suite}: mmdebstrap --variant=minbase", time.monotonic() - start)
        if Path("/etc/resolv.conf").is_file():  # name resolution for apt-get and pip
            replace_file(self.dir / "etc/resolv.conf", Path("/etc/resolv.conf").read_bytes())
        if HOST_CA_BUNDLE.is_file():
            replace_file(self.dir / IMAGE_CA_BUNDLE.lstrip("/"), HOST_CA_BUNDLE.read_bytes())

    def install(self, zip_path: Path):
        """What Gradescope does with the upload: unzip it into /autograder/source."""
        self.autograder.mkdir(mode=0o755)
        self.autograder.chmod(0o755)
        unpack(zip_path, self.autograder / "source")

    def run(self, script: str, timeout: int, env=()):
        """``bash -c script`` in the chroot with a clean environment and proc mounted for the
        duration; returns (returncode, combined output, seconds)."""
        proc_dir = self.dir / "proc"
        assert not is_mountpoint(self.dir / "dev"), "the image's /dev must be its own"
        command = [
            "chroot",
            str(self.dir),
            "/usr/bin/env",
            "-i",
            CHROOT_PATH,
            "HOME=/root",
            *env,
            "bash",
            "-c",
            script,
        ]
        subprocess.run(["mount", "-t", "proc", "proc", str(proc_dir)], check=True)
        start = time.monotonic()
        try:
            child = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            try:
                output, _ = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                output, _ = child.communicate()
                pytest.fail(
                    f"{self.suite}: {script!r} still running after {timeout} s:\n{output[-4000:]}"
                )
        finally:
            unmount(proc_dir)
        return child.returncode, output, time.monotonic() - start

    def setup(self):
        env = [f"PIP_CERT={IMAGE_CA_BUNDLE}"] if HOST_CA_BUNDLE.is_file() else []
        return self.run("cd /autograder/source && ./setup.sh", SETUP_TIMEOUT, env)

    def grade(self, submission: Path):
        """A fresh upload of ``submission`` as gmm1d.py, then run_autograder as Gradescope runs
        it; returns (results dict, the log)."""
        for name in ("submission", "results"):
            shutil.rmtree(self.autograder / name, ignore_errors=True)
            (self.autograder / name).mkdir()
        shutil.copy(submission, self.autograder / "submission" / "gmm1d.py")
        shutil.copy2(self.autograder / "source" / "run_autograder", self.autograder)
        status, log, seconds = self.run("cd /autograder && ./run_autograder", RUN_TIMEOUT)
        shown = submission.relative_to(ROOT) if submission.is_relative_to(ROOT) else submission.name
        timed(f"{self.suite}: run_autograder on {shown}", seconds)
        assert status == 0, log
        raw = (self.autograder / "results" / "results.json").read_text(encoding="utf-8")

        def reject(constant):
            raise ValueError(constant)

        return json.loads(raw, parse_constant=reject), log


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")  # and a course secret of its own, made there
    return package.build_autograder(ROOT, dist / "autograder.zip", dist / "course_secret")


def make_image(suite, autograder_zip):
    """Build ``suite``, install the zip, run setup.sh twice; yields (image, [two setup runs])."""
    unreachable = reachable(f"{MIRROR}/dists/{suite}/Release")
    if unreachable:
        pytest.skip(f"cannot build a {suite} image: {unreachable}")
    # Not under pytest's tmp dir, which pytest itself deletes later: only delete_image may.
    # A fresh directory, one filesystem with the image: rm --one-file-system removes it all.
    directory = Path(tempfile.mkdtemp(prefix=f"gmm-image-{suite}-"))
    image = Image(suite, directory)
    try:
        image.build()
        image.install(autograder_zip)
        runs = []
        for attempt in ("first", "second"):
            status, output, seconds = image.setup()
            timed(f"{suite}: setup.sh, {attempt} run (exit status {status})", seconds)
            runs.append((status, output, seconds))
        yield image, runs
    finally:
        for leftover in sorted(mounts_under(directory), reverse=True):  # deepest first
            unmount(Path(leftover))
        delete_image(directory)
        print(
            f"[images] {suite}: image deleted; total {sum(s for _, s in TIMINGS):.1f} s",
            file=sys.stderr,
        )


@pytest.fixture(scope="module")
def bookworm(autograder_zip):
    unreachable = reachable("https://pypi.org/simple/pip/")
    if unreachable:
        pytest.skip(f"setup.sh needs PyPI: {unreachable}")
    yield from make_image("bookworm", autograder_zip)


@pytest.fixture(scope="module")
def bullseye(autograder_zip):
    yield from make_image("bullseye", autograder_zip)


# --- Debian 12: Python 3.11, the supported path via apt ------------------------------------


def test_debian12_setup_installs_python_with_apt_and_reruns_quickly(bookworm):
    image, [(first, first_log, _), (second, second_log, second_seconds)] = bookworm
    assert first == 0, first_log[-6000:]
    assert "apt-get install python3 python3-venv" in first_log  # the apt path, really taken
    assert "base interpreter: /usr/bin/python3 (Python 3.11)" in first_log
    assert "pip install -r requirements.txt" in first_log
    assert second == 0, second_log[-6000:]
    assert "requirements already installed" in second_log and "apt-get" not in second_log
    assert second_seconds < 60, second_log
    state = (image.autograder / "setup-status").read_text().splitlines()[0]
    assert state == "complete"


def test_debian12_grades_the_reference_100(bookworm):
    image, [(setup_status, setup_log, _), _] = bookworm
    assert setup_status == 0, setup_log[-6000:]
    results, log = image.grade(REFERENCE)
    assert not results.get("extra_data", {}).get("autograder_error"), log
    assert max_score(results) == 100, log
    assert score(results) == pytest.approx(100), log


@pytest.mark.parametrize("fixture", LIBRARY_USERS)
def test_debian12_grades_correct_files_using_scipy_and_matplotlib_100(bookworm, fixture, tmp_path):
    image, [(setup_status, setup_log, _), _] = bookworm
    assert setup_status == 0, setup_log[-6000:]
    results, log = image.grade(discover()[fixture].upload(tmp_path))  # spliced into the stub
    assert score(results) == pytest.approx(100), log


def test_debian12_grades_the_stub_0(bookworm):
    image, [(setup_status, setup_log, _), _] = bookworm
    assert setup_status == 0, setup_log[-6000:]
    results, log = image.grade(STUB)
    assert not results.get("extra_data", {}).get("autograder_error"), log
    assert max_score(results) == 100, log
    assert score(results) == 0, log


# --- Debian 11: Python 3.9, refused with the fix --------------------------------------------


def test_debian11_setup_refuses_naming_the_python_the_range_and_the_fix(bullseye):
    image, runs = bullseye
    for status, output, _ in runs:  # the second run refuses the same way
        assert status != 0, output[-6000:]
        assert "Python 3.9" in output and "3.10-3.12" in output, output[-6000:]
        assert "Ubuntu 22.04" in output and "PYTHON=" in output, output[-6000:]
        assert "pip install" not in output  # it stopped before pip ...
    assert not (image.autograder / "venv").exists()  # ... and before building anything
    state, cause = (image.autograder / "setup-status").read_text().splitlines()[:2]
    assert state == "failed" and "Python 3.9" in cause and "below 3.10" in cause


def test_debian11_run_autograder_says_our_side_and_logs_the_cause(bullseye):
    image, _ = bullseye
    results, log = image.grade(REFERENCE)
    assert score(results) == 0
    assert "on our side" in results["output"] and "not your code's fault" in results["output"]
    [test] = results["tests"]
    assert "Autograder error" in test["name"] and "on our side" in test["output"]
    assert results["extra_data"] == {"autograder_error": True, "setup_incomplete": True}
    assert "Python 3.9" not in json.dumps(results)  # the cause is for the instructor's log only
    assert "setup did not complete" in log
    assert "Python 3.9 (/usr/bin/python3) is below 3.10" in log, log
