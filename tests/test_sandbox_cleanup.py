"""Cleanup after a worker (grader/sandbox/cleanup.py): nothing a submission leaves outlives
its grading, and no tree, link or permission trick makes cleanup fail the grading."""

import ctypes
import os
import pathlib
import tempfile

import pytest

from grader.sandbox import cleanup, isolation
from tests.sandbox_helpers import (
    ROOT,
    case_from_template,
    needs_root,
    paths_owned,
    require,
    sandbox,
)


def test_close_kills_the_worker_and_removes_its_directory():
    with sandbox("hang_estep") as sb:
        assert sb.construct(2).ok
        pid = sb.worker_pid
        directory = os.readlink(f"/proc/{pid}/cwd")
        assert os.path.exists(directory)
        sb.close()
        sb.close()  # idempotent
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
        assert not os.path.exists(directory)
        with pytest.raises(RuntimeError):
            sb.construct(2)


# --- remove_tree: untrusted trees, without recursion or links ------------------------------


def _chain(top, depth, name="d"):
    """A ``depth``-level chain of directories below ``top`` (made with dir fds: the path
    would be far longer than PATH_MAX); returns nothing."""
    fd = os.open(top, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)


def test_a_3000_level_tree_is_removed_without_recursion(tmp_path):
    top = tmp_path / "deep"
    top.mkdir()
    _chain(top, 3000)
    assert cleanup.remove_tree(top)
    assert not top.exists()


def test_links_are_removed_never_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("the grader's")
    top = tmp_path / "tree"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "to-dir").symlink_to(outside)
    (top / "to-file").symlink_to(outside / "keep.txt")
    (top / "dangling").symlink_to(tmp_path / "nowhere")
    assert cleanup.remove_tree(top)
    assert (outside / "keep.txt").read_text() == "the grader's"
    link = tmp_path / "just-a-link"
    link.symlink_to(outside)
    assert cleanup.remove_tree(link) and outside.is_dir()


def test_directories_made_unreadable_or_read_only_are_removed(tmp_path):
    """As a normal user the submission shares the grader's uid and can chmod its own tree."""
    top = tmp_path / "tree"
    (top / "locked" / "inner").mkdir(parents=True)
    (top / "locked" / "inner" / "f").write_text("x")
    (top / "readonly").mkdir()
    (top / "readonly" / "g").write_text("y")
    (top / "locked" / "inner").chmod(0)
    (top / "locked").chmod(0)
    (top / "readonly").chmod(0o500)
    assert cleanup.remove_tree(top)
    assert not top.exists()


def test_a_tree_that_outlasts_the_time_limit_is_logged_not_raised(tmp_path, capfd):
    top = tmp_path / "slow"
    top.mkdir()
    _chain(top, 50)
    assert cleanup.remove_tree(top, seconds=0) is False  # gave up at once, no exception
    assert "could not remove all of" in capfd.readouterr().err
    assert cleanup.remove_tree(top)


def test_a_missing_path_is_already_removed(tmp_path):
    assert cleanup.remove_tree(tmp_path / "never-existed")


@pytest.mark.skipif(ROOT, reason="as root the private directory is root's: nothing can be made")
def test_the_workers_deep_tree_is_removed_when_the_sandbox_closes(monkeypatch):
    # Where Landlock holds nothing can be written (test_sandbox_writes.py); without it, on a
    # normal account, the private directory is yours and this is what cleanup must undo.
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "landlock")
    with sandbox("deep_tree") as sb:
        reply = sb.construct(2)
        assert reply.ok, reply.error
        assert reply.output.startswith("built 3000 levels")
    # no_leftovers (in sandbox()) checked that the private directory is gone


# --- as root: nothing of the sandbox uid outlives its grading -------------------------------


def _owned_by(uid, places):
    return paths_owned(lambda owner: owner == uid, places)


@pytest.fixture
def shared_subdir():
    """A world-writable directory inside /tmp, as another course's tool might leave one."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="gmm1d-shared-", dir="/tmp"))
    path.chmod(0o1777)
    yield path
    cleanup.remove_tree(path)


@needs_root
def test_files_left_in_world_writable_places_at_any_depth_are_removed_at_close(
    tmp_path, monkeypatch, shared_subdir
):
    """Without Landlock a uid can write to /tmp, /var/tmp, /dev/shm and any world-writable
    directory below them: what it leaves there (data for a later grading, RAM in /dev/shm)
    is deleted when its sandbox closes, at every depth, links removed, never followed.
    seccomp is off too: its allow-list refuses symlink, and the cleanup must not rely on it."""
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "landlock,seccomp")
    places = [p for p in ("/tmp", "/var/tmp", "/dev/shm") if os.path.isdir(p)]
    places.append(str(shared_subdir))
    litter = case_from_template(tmp_path, "litter", "PLACES = []", f"PLACES = {places!r}")
    with sandbox(litter) as sb:
        reply = sb.construct(2)
        assert reply.ok, reply.error
        uid = sb._account.uid
        assert reply.output.count("wrote ") == len(places), reply.output
        assert len(_owned_by(uid, places)) >= 7 * len(places)  # the litter, before close
    assert _owned_by(uid, places) == []
    assert os.path.isfile("/etc/passwd")


@needs_root
def test_with_landlock_the_litter_is_refused_in_the_first_place(tmp_path, shared_subdir):
    require("landlock")
    places = ["/tmp", str(shared_subdir)]
    litter = case_from_template(tmp_path, "litter", "PLACES = []", f"PLACES = {places!r}")
    with sandbox(litter) as sb:
        reply = sb.construct(2)
        assert reply.ok, reply.error
    assert reply.output.splitlines() == [f"refused {p} PermissionError" for p in places]


def _ipc_of(uid):
    found = []
    for kind in ("shm", "sem", "msg"):
        with open(f"/proc/sysvipc/{kind}") as handle:
            header, *rows = [line.split() for line in handle]
        for row in rows:
            entry = dict(zip(header, row))
            if uid in (int(entry["uid"]), int(entry["cuid"])):
                found.append(f"{kind} {entry.get('shmid') or entry.get('semid') or entry['msqid']}")
    return found


def test_sysv_ipc_left_behind_is_removed_at_close(monkeypatch):
    """Detached shared memory outlives its process and RLIMIT_AS does not count it: a kernel
    without the seccomp filter lets a submission make some, and close removes it. As root,
    every object of the worker's uid goes; on a normal account the worker's uid is yours, so
    only the shared memory its pid created can be told apart (semaphores and queues record
    no creator pid: there the filter is the only defence)."""
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "seccomp")
    before = set(_ipc_of(os.getuid()))
    with sandbox("sysv_ipc") as sb:
        reply = sb.construct(2)
        assert reply.ok, reply.error
        uid = sb._account.uid if ROOT else os.getuid()
        assert "refused" not in reply.output, reply.output
        made = set(_ipc_of(uid)) - before
        assert len(made) == 7
    left = set(_ipc_of(uid)) - before
    try:
        if ROOT:
            assert left == set()
        else:
            assert {entry.split()[0] for entry in left} == {"sem", "msg"}
    finally:
        cleanup.remove_ipc_of(uids=[uid] if ROOT else [])
        for entry in left:
            kind, ident = entry.split()
            libc = ctypes.CDLL(None)
            (libc.semctl(int(ident), 0, 0) if kind == "sem" else libc.msgctl(int(ident), 0, None))


def test_with_seccomp_no_ipc_object_can_be_made():
    require("seccomp")
    with sandbox("sysv_ipc") as sb:
        reply = sb.construct(2)
        assert reply.ok, reply.error
    assert reply.output.strip() == "; ".join(
        [f"{kind} refused errno 1" for kind in ["shm"] * 5 + ["sem", "msg"]]
    )


SWEPT_UID = 64_999  # owns the litter below; no process runs as it
needs_root_to_chown = pytest.mark.skipif(
    not ROOT,
    reason="needs root: the litter belongs to another uid (chown), as root's sweep meets it",
)


@needs_root_to_chown
def test_the_sweep_removes_a_uids_files_at_any_depth_and_never_follows_a_link(
    tmp_path, monkeypatch
):
    place, elsewhere = tmp_path / "place", tmp_path / "elsewhere"
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(place))  # not the real /tmp
    deep = place / "shared" / "deeper"
    deep.mkdir(parents=True)
    elsewhere.mkdir()
    for path in (deep / "litter", place / "top-litter", elsewhere / "not-here"):
        path.write_text("x")
        os.chown(path, SWEPT_UID, SWEPT_UID)
    (place / "link").symlink_to(elsewhere)  # root's own link: never followed
    assert cleanup.remove_files_of({SWEPT_UID}, places=[str(place)]) == 2
    assert not (deep / "litter").exists() and not (place / "top-litter").exists()
    assert (elsewhere / "not-here").exists() and deep.is_dir()


@needs_root_to_chown
def test_a_directory_swapped_for_a_link_during_the_sweep_leads_nowhere(tmp_path, monkeypatch):
    """The race of a live process of another uid: "shared" is listed as a directory, then
    replaced by a link to a folder of the same uid's files elsewhere before the descent."""
    place, elsewhere = tmp_path / "place", tmp_path / "elsewhere"
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(place))  # not the real /tmp
    (place / "shared").mkdir(parents=True)
    (elsewhere / "keep").mkdir(parents=True)
    victim = elsewhere / "keep" / "file"
    victim.write_text("x")
    os.chown(victim, SWEPT_UID, SWEPT_UID)
    real = cleanup._open_below

    def swapping(base_fd, names):
        if names == ("shared",) and (place / "shared").is_dir():
            (place / "shared").rmdir()
            (place / "shared").symlink_to(elsewhere / "keep")
        return real(base_fd, names)

    monkeypatch.setattr(cleanup, "_open_below", swapping)
    cleanup.remove_files_of({SWEPT_UID}, places=[str(place)])
    assert (place / "shared").is_symlink() and victim.exists()
