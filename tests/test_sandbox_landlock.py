"""Attacks Landlock stops (grader/sandbox/landlock.py, applied in confine.py).

Each attack runs twice in a real worker: with seccomp turned off, so Landlock alone must stop
it, and with Landlock turned off too, where it must succeed (unless the uid layer of a root
grading stops it as well): that second run proves the attack is real and Landlock is what
stops it. Skipped, saying why, where the kernel lacks the Landlock ABI an attack needs. Run
as root by ``make test`` and as an unprivileged user by ``make test-unprivileged``.
"""

import os
import pathlib
import socket
import stat

import pytest

from grader import lockdown, paths, secret
from grader.sandbox import isolation
from tests.sandbox_helpers import (
    ROOT,
    assert_attack,
    require,
    run_attack,
    tcp_listener,
    victim,  # noqa: F401 (a fixture)
    worker_account,
)

ALONE = ("seccomp",)  # Landlock alone
NEITHER = ("landlock", "seccomp")  # the control run: the attack must work


@pytest.fixture
def home_secret():
    """A private file (mode 600) in the home directory of the user running the grader."""
    home = pathlib.Path(os.path.expanduser("~"))
    secret = home / f".gmm1d-sandbox-test-{os.getpid()}"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY----- (test)")
    secret.chmod(0o600)
    yield secret
    secret.unlink()


@pytest.fixture
def shared_solution(tmp_path_factory):
    """A finished GMM1D another course folder left world-readable in /tmp."""
    folder = pathlib.Path(tmp_path_factory.mktemp("other-course"))
    target = folder / "gmm1d.py"
    target.write_bytes(paths.SOLUTION_PATH.read_bytes())
    for place in (target, *target.parents):
        if place == pathlib.Path("/tmp"):
            break
        place.chmod(place.stat().st_mode | stat.S_IROTH | stat.S_IXOTH)
    return target


@pytest.mark.parametrize("without", [ALONE, NEITHER], ids=["landlock-alone", "control"])
def test_a_private_file_in_the_graders_home_is_not_read(
    tmp_path, monkeypatch, home_secret, without
):
    require("landlock")
    line = run_attack(tmp_path, monkeypatch, "read", str(home_secret), without)
    assert_attack(line, {"landlock", "uid"}, without)


@pytest.mark.parametrize("without", [ALONE, NEITHER], ids=["landlock-alone", "control"])
def test_the_course_secret_is_not_read(tmp_path, monkeypatch, without):
    """The secret that keys the generated inputs (grader/secret.py), laid out as Gradescope
    unpacks it: with it a submission could compute its own inputs and replay answers."""
    require("landlock")
    folder = tmp_path / "autograder" / "source" / "grader"
    folder.mkdir(parents=True)
    course_secret = secret.create(folder / "course_secret")
    line = run_attack(tmp_path, monkeypatch, "read", str(course_secret), without)
    assert_attack(line, {"landlock", "uid"}, without)  # as root, mode 0600 stops it too
    assert course_secret.read_text().strip() not in line


@pytest.mark.parametrize("without", [ALONE, NEITHER], ids=["landlock-alone", "control"])
def test_a_world_readable_finished_gmm1d_elsewhere_is_not_read(
    tmp_path, monkeypatch, shared_solution, without
):
    require("landlock")
    line = run_attack(tmp_path, monkeypatch, "read", str(shared_solution), without)
    assert_attack(line, {"landlock"}, without)


@pytest.mark.parametrize("without", [ALONE, NEITHER], ids=["landlock-alone", "control"])
def test_the_checkouts_solution_is_not_read(tmp_path, monkeypatch, without):
    require("landlock")
    # As every root grading without Landlock does first (a no-op otherwise, and as you).
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, ",".join(without))
    lockdown.protect_checkout()
    line = run_attack(tmp_path, monkeypatch, "read", str(paths.SOLUTION_PATH), without)
    # As root the checkout is locked, so the uid stops it too.
    assert_attack(line, {"landlock", "uid"}, without)


@pytest.mark.parametrize("place", ["/tmp", "/dev/shm", "/var/tmp"])
@pytest.mark.parametrize("without", [ALONE, NEITHER], ids=["landlock-alone", "control"])
def test_nothing_is_written_outside_the_private_directory(tmp_path, monkeypatch, place, without):
    require("landlock")
    if not os.path.isdir(place):
        pytest.skip(f"{place} does not exist here")
    target = os.path.join(place, f"gmm1d-attack-{os.getpid()}-{len(without)}")
    try:
        line = run_attack(tmp_path, monkeypatch, "write", target, without)
        assert_attack(line, {"landlock"}, without)
        # As root, closing the sandbox removed what its uid wrote: nothing of it outlives
        # the grading.
        assert os.path.exists(target) == (line == "ATTACK allowed" and not ROOT)
    finally:
        if os.path.lexists(target):
            os.unlink(target)


@pytest.mark.parametrize("without", [ALONE, NEITHER], ids=["landlock-alone", "control"])
def test_another_process_is_invisible_in_proc(tmp_path, monkeypatch, victim, without):  # noqa: F811
    require("landlock")
    target = victim()
    line = run_attack(tmp_path, monkeypatch, "read", f"/proc/{target.pid}/cmdline", without)
    assert_attack(line, {"landlock"}, without)
    listing = run_attack(tmp_path, monkeypatch, "list", "/proc", without)
    assert_attack(listing, {"landlock"}, without)


@pytest.mark.parametrize("without", [("seccomp",), NEITHER], ids=["landlock-alone", "control"])
def test_tcp_to_a_loopback_listener_is_refused(tmp_path, monkeypatch, without):
    require("landlock-net")
    server, received, thread = tcp_listener()
    with server:
        port = server.getsockname()[1]
        line = run_attack(tmp_path, monkeypatch, "tcp", port, without)
        if line == "ATTACK allowed":
            thread.join(10)
    assert_attack(line, {"landlock-net", "seccomp"}, without)
    assert received == ([b"stolen"] if line == "ATTACK allowed" else [])


@pytest.mark.parametrize("without", [("seccomp",), NEITHER], ids=["landlock-alone", "control"])
def test_an_abstract_unix_socket_outside_the_sandbox_is_unreachable(tmp_path, monkeypatch, without):
    require("landlock-scope")
    name = f"gmm1d-attack-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind("\0" + name)
        server.listen(1)
        line = run_attack(tmp_path, monkeypatch, "abstract", name, without)
    assert_attack(line, {"landlock-scope", "seccomp"}, without)


@pytest.mark.parametrize("without", [ALONE, NEITHER], ids=["landlock-alone", "control"])
def test_a_process_of_the_same_uid_cannot_be_signalled(tmp_path, monkeypatch, victim, without):  # noqa: F811
    require("landlock-scope")
    account = worker_account() if ROOT else None
    target = victim(account.uid if account else None)
    line = run_attack(tmp_path, monkeypatch, "signal", target.pid, without, account)
    assert_attack(line, {"landlock-scope"}, without)
    # SIGTERM is the attack's; as root, closing the sandbox SIGKILLs its uid's processes.
    assert (
        target.wait(timeout=5) == -15 if line == "ATTACK allowed" else target.poll() in (None, -9)
    )
