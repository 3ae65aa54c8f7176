"""No capability while student code runs (grader/sandbox/capability.py): as root, with the
interpreter under a folder other users cannot traverse (pyenv under a mode-700 /root), the
worker used to keep CAP_DAC_READ_SEARCH, bounded by Landlock for reading but not for stat
or inotify: the names, sizes and times in any mode-700 folder (the course secret's, the
solution's) reached student code. Now it reaches its interpreter through descriptors and
holds no capability in any set."""

import pathlib
import shutil
import tempfile

import pytest

from grader.sandbox import SandboxError, isolation, process
from tests.sandbox_helpers import ABI, NEEDS_CAPABILITY, ROOT, case_from_template, sandbox

pytestmark = pytest.mark.skipif(
    not (ROOT and ABI), reason="needs root and Landlock: only a root worker ever held a capability"
)
WORKER_SOURCE = process.worker_source
ALL_SETS_EMPTY = [
    f"{name}: {0:016x}" for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
]


@pytest.fixture
def closed_folder():
    """A stand-in for grader/ (holding course_secret) and solution/: root's, mode 0700."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="closed-folder-"))
    (folder / "course_secret").write_text("0" * 64)
    folder.chmod(0o700)
    yield folder
    shutil.rmtree(folder)


def _attack(tmp_path, folder):
    targets = {"stat": [str(folder / "course_secret")], "watch": [str(folder)]}
    return case_from_template(tmp_path, "metadata", "TARGETS = {}", f"TARGETS = {targets!r}")


def _lines(sb):
    reply = sb.construct(2)
    assert reply.ok, reply.error
    return reply.output.splitlines()


def test_student_code_can_neither_stat_nor_watch_a_closed_folder(
    tmp_path, closed_folder, monkeypatch
):
    # seccomp off: its allowlist refuses inotify on its own; this is the uid without capability
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "seccomp")
    with sandbox(_attack(tmp_path, closed_folder)) as sb:
        lines = _lines(sb)
        assert not sb.confinement.capability
        assert "CAP_" not in sb.confinement.layers()
    assert lines == [
        f"stat denied: {closed_folder / 'course_secret'} (PermissionError)",
        f"watch denied: {closed_folder} (errno 13)",
        *ALL_SETS_EMPTY,
        "fresh import ok",  # the interpreter's tree is still reachable, by descriptor
    ]


def _keeping_the_capability():
    """The worker program as it was: the capability kept instead of reaching by descriptor."""
    source = WORKER_SOURCE()
    old = r"def reach_by_descriptor(roots):\n"  # as it appears in the program: repr'd source
    assert old in source
    return source.replace(old, old + r"    return None\n", 1)


@pytest.mark.skipif(
    not NEEDS_CAPABILITY, reason="this interpreter is reachable by any uid: no capability to keep"
)
def test_control_with_the_capability_kept_the_same_upload_sees_the_closed_folder(
    tmp_path, closed_folder, monkeypatch
):
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "seccomp")
    monkeypatch.setattr(process, "worker_source", _keeping_the_capability)
    with sandbox(_attack(tmp_path, closed_folder)) as sb:
        lines = _lines(sb)
        assert sb.confinement.capability == "CAP_DAC_READ_SEARCH"  # named, as ever
    assert lines[:2] == [
        f"stat allowed: {closed_folder / 'course_secret'} (64 bytes)",
        f"watch allowed: {closed_folder}",
    ]


def test_a_worker_holding_an_unreported_capability_is_refused(monkeypatch):
    support = isolation.kernel_support()
    account = isolation.Account("test", 123456, 123456)
    status = {"Uid": "123456 123456 123456 123456", "NoNewPrivs": "1", "Seccomp": "2"}
    status.update({name: "0000000000000000" for name in ("CapInh", "CapPrm", "CapEff", "CapAmb")})
    status["CapBnd"] = "000001ffffffffff"  # the bounding set left full
    monkeypatch.setattr(isolation, "proc_status", lambda pid: status)
    report = {"uid": 123456, "capability": None, "landlock": support.landlock_parts,
              "seccomp": 40 if support.seccomp else 0, "seccomp_unknown": []}  # fmt: skip
    with pytest.raises(SandboxError, match="holds a capability"):
        isolation.check_confinement(report, 1, account, support)
    status["CapBnd"] = "0000000000000000"
    assert not isolation.check_confinement(report, 1, account, support).capability
