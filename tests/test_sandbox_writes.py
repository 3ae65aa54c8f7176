"""A private directory that cannot grow: where Landlock holds, student code writes nothing
anywhere (issue 17: 1 MiB files made 4.7 GB in 18 s as root, and ~900k nested directories
outlasted cleanup). Without Landlock as root the private directory is root's, so the uid's
only writable places are the shared ones, swept at close. And where Landlock holds, the
cleanup never walks /tmp: its cost does not grow with what else is there."""

import os

from grader.sandbox import cleanup, isolation
from tests.sandbox_helpers import ROOT, require, sandbox

REFUSED = [
    "files .: 0 MiB (PermissionError)",
    "files /tmp: 0 MiB (PermissionError)",
    "files /var/tmp: 0 MiB (PermissionError)",
    "files /dev/shm: 0 MiB (PermissionError)",
    "dirs: 0 (PermissionError)",
]


def _made(sb):
    reply = sb.construct(2)
    assert reply.ok, reply.error
    return reply.output.splitlines()


def test_disk_and_inode_floods_are_refused_where_landlock_holds():
    require("landlock")
    with sandbox("flood") as sb:
        assert _made(sb) == REFUSED  # 0 bytes and 0 inodes: nothing to bound or to remove


def test_control_without_landlock_the_floods_succeed(monkeypatch):
    """The same upload with Landlock forced off: the attack works, so the layer is what stops
    it. As root the private directory is still root's (not writable), the shared places are
    (what the uid made there is swept at close: sandbox() checks nothing of it is left)."""
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "landlock")
    with sandbox("flood") as sb:
        made = _made(sb)
    if ROOT:
        assert made[0] == "files .: 0 MiB (PermissionError)" and made[-1].startswith("dirs: 0")
        assert "files /tmp: 8 MiB" in made
    else:
        assert made[0] == "files .: 8 MiB" and made[-1] == "dirs: 200"
    made_here = [
        os.path.join(place, entry)
        for place in ("/tmp", "/var/tmp", "/dev/shm")
        for entry in os.listdir(place)
        if any(entry.startswith(f"flood-{pid}-") for pid in sb.pids)
    ]
    if ROOT:
        assert made_here == []  # swept: at most the files it could make, removed at close
    for path in made_here:  # a normal account's: yours, and left (a documented limit)
        os.unlink(path)


def test_cleanup_with_landlock_never_walks_the_shared_folders(monkeypatch):
    require("landlock")

    def walker(*args, **kwargs):
        raise AssertionError("walked the shared folders")

    monkeypatch.setattr(cleanup, "remove_files_of", walker)
    with sandbox("flood") as sb:
        assert _made(sb) == REFUSED
    if ROOT:  # the batch's path after killing a grader: no walk either
        cleanup.kill_workers_of(os.getpid())


def test_without_landlock_as_root_cleanup_still_sweeps(monkeypatch):
    require("uid")
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "landlock")
    walked = []
    real = cleanup.remove_files_of
    monkeypatch.setattr(
        cleanup, "remove_files_of", lambda *a, **k: walked.append(1) or real(*a, **k)
    )
    cleanup.kill_workers_of(os.getpid())
    assert walked


def test_a_killed_graders_private_directories_are_removed_without_a_walk(monkeypatch):
    require("uid")
    account = isolation.sandbox_account()
    left = isolation.private_dir(account, b"print(1)\n", landlock_holds=False)
    other = isolation.private_dir(None, b"not a sandbox's\n")
    try:
        assert cleanup.remove_private_dirs_of(isolation.uid_range(os.getpid())) >= 1
        assert not os.path.exists(left) and os.path.exists(other)
        assert os.path.basename(left).startswith(isolation.PRIVATE_DIR_PREFIX)
    finally:
        cleanup.remove_tree(other)
