"""Fast tests of setup.sh's interpreter check and of run_autograder after an incomplete setup.

No image, no network, no root needed: setup.sh runs against fake interpreters and a fake
apt-get/apt-cache (scripts that record how they were called), with AUTOGRADER_ROOT in a
temporary directory. Every case stops setup.sh long before it could install, create a user
or chmod anything. The real thing, on real Debian images, is tests/test_images.py.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "setup.sh"
RUN_AUTOGRADER = ROOT / "run_autograder"
TIMEOUT = 60

# Fake apt: records each call; apt-cache offers the packages listed in $FAKE_APT_OFFERS;
# "apt-get install" of python3.X creates a fake python3.X reporting that version.
FAKE_APT_GET = """#!/bin/bash
echo "apt-get $*" >>"$FAKE_LOG"
if [[ "$1" == install ]]; then
  for package in "$@"; do
    if [[ "$package" =~ ^python3\\.[0-9]+$ ]]; then
      printf '#!/bin/bash\\n[[ "$*" == -c* ]] && echo "%s $0" || exit 1\\n' "${package#python}" \\
        >"$FAKE_BIN/$package"
      chmod +x "$FAKE_BIN/$package"
    fi
  done
fi
"""
FAKE_APT_CACHE = """#!/bin/bash
echo "apt-cache $*" >>"$FAKE_LOG"
echo "$2:"
echo "  Installed: (none)"
if [[ " $FAKE_APT_OFFERS " == *" $2 "* ]]; then
  echo "  Candidate: 9.9-1"
else
  echo "  Candidate: (none)"
fi
"""


def fake_python(path: Path, version: str) -> Path:
    """An 'interpreter' that answers setup.sh's version query (-c ...) and fails at all else,
    so nothing real (a venv, pip) can happen."""
    path.write_text(f'#!/bin/bash\n[[ "$*" == -c* ]] && echo "{version} $0" || exit 1\n')
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def system_bin(tmp_path_factory):
    """The host's /usr/bin (every tool setup.sh may use) minus any Python and apt: the host's
    own python3.11 or apt-get must not answer for the image being faked."""
    linked = tmp_path_factory.mktemp("usr-bin")
    for entry in Path("/usr/bin").iterdir():
        if not entry.name.startswith(("python", "apt", "pip", "pydoc", "idle", "2to3")):
            (linked / entry.name).symlink_to(entry)
    return linked


class FakeImage:
    """AUTOGRADER_ROOT in a temporary directory plus a bin/ of fakes first on PATH."""

    def __init__(self, tmp_path: Path, system_bin: Path):
        self.root = tmp_path / "autograder"
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "apt-calls.log"
        self.log.touch()
        for name, text in (("apt-get", FAKE_APT_GET), ("apt-cache", FAKE_APT_CACHE)):
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        self.env = {
            "PATH": f"{self.bin}:{system_bin}",
            "HOME": str(tmp_path),
            "AUTOGRADER_ROOT": str(self.root),
            "FAKE_LOG": str(self.log),
            "FAKE_BIN": str(self.bin),
            "FAKE_APT_OFFERS": "",
        }

    def setup(self, script=SETUP, **env):
        run = subprocess.run(
            ["/bin/bash", str(script)],
            cwd=ROOT,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        return run, run.stdout + run.stderr

    def apt_calls(self):
        return self.log.read_text().splitlines()

    def status(self):
        return (self.root / "setup-status").read_text().splitlines()


@pytest.fixture
def image(tmp_path, system_bin):
    return FakeImage(tmp_path, system_bin)


def assert_refusal_names_python_range_and_fix(output, version="3.9"):
    assert f"Python {version}" in output, output
    assert "3.10-3.12" in output, output
    assert "Ubuntu 22.04" in output and "PYTHON=" in output, output


def test_explicit_old_python_is_refused_before_apt_is_touched(image):
    python = fake_python(image.bin / "python3.9", "3.9")
    run, output = image.setup(PYTHON=str(python))
    assert run.returncode != 0, output
    assert_refusal_names_python_range_and_fix(output)
    assert str(python) in output  # which interpreter it found
    assert image.apt_calls() == []
    assert "pip" not in image.log.read_text() and not (image.root / "venv").exists()
    state, cause = image.status()
    assert state == "failed"
    assert "Python 3.9" in cause and "below 3.10" in cause and "Ubuntu 22.04" in cause


def test_an_interpreter_named_in_setup_sh_is_used_as_given(image, tmp_path):
    """The documented edit (docs/base-images.md): DEFAULT_PYTHON names the interpreter, which
    is then checked like PYTHON, never searched for or replaced through apt."""
    python = fake_python(image.bin / "python3.9", "3.9")
    edited = tmp_path / "setup.sh"
    text = SETUP.read_text()
    assert text.count('DEFAULT_PYTHON="python3"') == 1
    edited.write_text(text.replace('DEFAULT_PYTHON="python3"', f'DEFAULT_PYTHON="{python}"'))
    fake_python(image.bin / "python3.12", "3.12")  # would be found by a search
    run, output = image.setup(script=edited)
    assert run.returncode != 0, output
    assert_refusal_names_python_range_and_fix(output)
    assert str(python) in output and "python3.12" not in output
    assert image.apt_calls() == []


def test_old_default_python3_is_refused_when_apt_offers_nothing_newer(image):
    fake_python(image.bin / "python3", "3.9")
    image.env["FAKE_APT_OFFERS"] = "python3.9 python3.9-venv"
    run, output = image.setup()
    assert run.returncode != 0, output
    assert_refusal_names_python_range_and_fix(output)
    assert "apt offers none of python3.12 ... python3.10" in output
    calls = image.apt_calls()
    assert [c for c in calls if c.startswith("apt-get")] == ["apt-get update -qq"]  # looked only
    assert {
        "apt-cache policy python3.12",
        "apt-cache policy python3.11",
        "apt-cache policy python3.10",
    } <= set(calls)
    assert image.status()[0] == "failed"


def test_old_default_python3_is_replaced_by_the_newest_python_apt_offers(image):
    fake_python(image.bin / "python3", "3.8")
    image.env["FAKE_APT_OFFERS"] = (
        "python3.10 python3.10-venv python3.11 python3.11-venv python3.12"
    )
    run, output = image.setup()
    # python3.12 comes without python3.12-venv here, so 3.11 is the newest usable one.
    assert "Python 3.8" in output and "installing python3.11 from apt and using it" in output
    installs = [c for c in image.apt_calls() if c.startswith("apt-get install")]
    assert installs[0].split()[-2:] == ["python3.11", "python3.11-venv"], installs
    assert f"base interpreter: {image.bin}/python3.11 (Python 3.11)" in output
    # The fake cannot build a venv, so setup goes on to fail there, and says it did not finish.
    assert run.returncode != 0 and image.status()[0] == "failed"
    assert "below 3.10; this autograder" not in output


def test_a_supported_python_already_installed_is_preferred_to_apt(image):
    fake_python(image.bin / "python3", "3.9")
    newer = fake_python(image.bin / "python3.12", "3.12")
    fake_python(image.bin / "python3.10", "3.10")
    run, output = image.setup()
    assert f"using {newer}, already installed, instead" in output, output
    assert f"base interpreter: {newer} (Python 3.12)" in output
    assert not [c for c in image.apt_calls() if c.startswith("apt-cache")]


def test_newer_than_312_warns_that_it_is_untested_and_goes_on(image):
    python = fake_python(image.bin / "python3.13", "3.13")
    run, output = image.setup(PYTHON=str(python))
    assert "WARNING" in output and "3.13" in output and "untested" in output, output
    assert f"base interpreter: {python} (Python 3.13)" in output
    assert "is below" not in output


def test_missing_explicit_interpreter_is_an_error_without_apt(image):
    run, output = image.setup(PYTHON=str(image.bin / "python3.11-not-here"))
    assert run.returncode != 0
    assert "no such interpreter" in output and "Ubuntu 22.04" in output
    assert image.apt_calls() == []
    assert image.status()[0] == "failed"


def test_an_unexpected_failure_is_recorded_with_the_step_and_command(image):
    python = fake_python(image.bin / "python3.11", "3.11")
    run, output = image.setup(PYTHON=str(python))  # the fake cannot create the venv
    assert run.returncode != 0
    state, cause = image.status()
    assert state == "failed"
    assert cause.startswith("setup.sh stopped: ") and "while creating the virtualenv" in cause
    assert "venv" in cause and "exited with status" in cause, cause
    assert cause.split("setup.sh stopped: ")[1] in output  # printed to the build log too


# --- run_autograder without a completed setup ----------------------------------------------


def run_autograder(root: Path):
    run = subprocess.run(
        [str(RUN_AUTOGRADER)],
        cwd=root,
        env={**os.environ, "AUTOGRADER_ROOT": str(root)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    raw = (root / "results" / "results.json").read_text(encoding="utf-8")

    def reject(constant):
        raise ValueError(constant)

    return json.loads(raw, parse_constant=reject), raw, run.stdout + run.stderr


@pytest.fixture
def gradescope_root(tmp_path):
    root = tmp_path / "autograder"
    for name in ("source/grader", "submission", "results"):
        (root / name).mkdir(parents=True)
    shutil.copy(ROOT / "solution" / "gmm1d.py", root / "submission" / "gmm1d.py")
    # run_autograder validates results with this module alone (the venv may be broken).
    shutil.copy(ROOT / "grader" / "strictjson.py", root / "source" / "grader" / "strictjson.py")
    return root


def assert_setup_fallback(results, raw):
    assert results["score"] == 0
    assert "set up wrong on our side" in results["output"]
    assert "not your code's fault" in results["output"] and "instructor" in results["output"]
    [test] = results["tests"]
    assert test["status"] == "failed" and test["max_score"] == 0
    assert "Autograder error" in test["name"]
    assert results["extra_data"] == {"autograder_error": True, "setup_incomplete": True}
    assert "setup.sh" not in raw and "Python 3" not in raw  # the cause is for the instructor only


def test_failed_setup_gives_the_student_our_side_and_the_log_the_cause(gradescope_root):
    cause = (
        "setup.sh stopped: Python 3.9 (/usr/bin/python3) is below 3.10; this autograder "
        "supports Python 3.10-3.12"
    )
    (gradescope_root / "setup-status").write_text(f"failed\n{cause}\n")
    results, raw, log = run_autograder(gradescope_root)
    assert_setup_fallback(results, raw)
    assert cause in log and "FALLBACK" in log
    assert "grader exit status" not in log  # the grader was never started


def test_setup_that_never_ran_or_never_finished_is_explained(gradescope_root):
    results, raw, log = run_autograder(gradescope_root)
    assert_setup_fallback(results, raw)
    assert "setup-status is missing" in log

    (gradescope_root / "setup-status").write_text("running\nsetup.sh started 2024-01-01\n")
    results, raw, log = run_autograder(gradescope_root)
    assert_setup_fallback(results, raw)
    assert "stopped before it finished" in log


def test_completed_setup_goes_on_to_grade(gradescope_root):
    (gradescope_root / "setup-status").write_text("complete\nsetup.sh finished\n")
    venv_bin = gradescope_root / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    # A stand-in for the venv's python running the grader: it writes a valid results file.
    (venv_bin / "python").write_text(
        '#!/bin/bash\necho \'{"score": 7, "tests": []}\' >"$AUTOGRADER_ROOT/results/results.json"\n'
    )
    (venv_bin / "python").chmod(0o755)
    results, raw, log = run_autograder(gradescope_root)
    assert results == {"score": 7, "tests": []}, log
    assert "results.json is valid" in log and "setup did not complete" not in log
