"""The zips are private on any account: the autograder's holds the course secret and the
solution, so another local user must not be able to read it (issue 17: `unzip -p` printed the
secret from a 0644 zip in a 0755 dist/)."""

import os
import stat

import pytest

from grader import package
from tests.test_gradescope import handout_project, make_project


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    """The umask of a typical account (022): what made the old zip world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_autograder_zip_is_0600_in_a_0700_dist_even_when_dist_was_0755(tmp_path, loose_umask):
    root = make_project(tmp_path / "proj")
    (root / "dist").chmod(0o755)  # as an earlier build (or the instructor) left it
    stale = root / "dist" / "autograder.zip.tmp"
    stale.write_bytes(b"left by a build that was interrupted")
    stale.chmod(0o644)
    out = package.build_autograder(root, root / "dist" / "autograder.zip")
    assert _mode(out) == 0o600
    assert _mode(root / "dist") == 0o700
    assert not stale.exists()  # renamed into the zip, private


def test_a_new_dist_is_created_0700(tmp_path, loose_umask):
    root = make_project(tmp_path / "proj")
    for old in (root / "dist").iterdir():
        old.unlink()
    (root / "dist").rmdir()
    out = package.build_autograder(root, root / "dist" / "autograder.zip")
    assert _mode(root / "dist") == 0o700 and _mode(out) == 0o600


def test_a_zip_written_elsewhere_is_0600_and_leaves_that_folder_alone(tmp_path, loose_umask):
    """--out into a shared folder: the zip is private, the folder is not ours to change."""
    root = make_project(tmp_path / "proj")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    out = package.build_autograder(root, shared / "autograder.zip")
    assert _mode(out) == 0o600 and _mode(shared) == 0o755


def test_handout_zip_is_0600_too(tmp_path, loose_umask):
    root = handout_project(tmp_path / "proj")
    out = package.build_handout(root, root / "dist" / "handout.zip")
    assert _mode(out) == 0o600 and _mode(root / "dist") == 0o700
