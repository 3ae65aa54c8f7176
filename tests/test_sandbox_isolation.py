"""Identity, environment and resource limits of the worker, and the check of its confinement
report (grader/sandbox/isolation.py)."""

import dataclasses
import json
import os
import pathlib
import sys

import numpy as np
import pytest

from grader import paths
from grader.sandbox import SandboxError, confine, isolation
from grader.sandbox.limits import Limits
from tests.sandbox_helpers import (
    ABI,
    FAST,
    PARAMS2,
    ROOT,
    SUPPORT,
    X5,
    sandbox,
)


def test_worker_environment_is_scrubbed_and_limited():
    with sandbox("environment") as sb:
        reply = sb.estep(2, PARAMS2, X5)
        assert reply.ok, reply.error
        report = json.loads(reply.output.split("REPORT ", 1)[1])
    cwd = report["cwd"]
    assert report["env"] == {
        "PATH": "/usr/bin:/bin",
        "HOME": cwd,
        "TMPDIR": cwd,
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": cwd,
    }
    assert report["isolated"] == 1
    assert report["module"] == "gmm1d"  # imported as a module: the __main__ block did not run
    assert report["cwd_listing"] == ["gmm1d.py"]
    assert report["cwd_mode"] == "0o700"
    assert report["cwd_on_path"] is False
    assert report["umask"] == "0o77"
    assert report["sid_is_pid"] is True
    limits = report["limits"]
    assert limits["RLIMIT_AS"] == [FAST.memory_mb << 20] * 2
    assert limits["RLIMIT_CPU"] == [FAST.cpu_seconds, FAST.cpu_seconds + 1]
    assert limits["RLIMIT_NPROC"] == [0, 0]
    assert limits["RLIMIT_FSIZE"] == [FAST.file_bytes] * 2
    assert limits["RLIMIT_CORE"] == [0, 0]
    assert limits["RLIMIT_NOFILE"] == [64, 64]
    assert limits["RLIMIT_MSGQUEUE"] == [0, 0]


def test_memory_bomb_is_stopped_by_the_address_space_limit():
    with sandbox("memory_bomb") as sb:
        for reply in (sb.estep(2, PARAMS2, X5), sb.mstep(2, PARAMS2, X5, np.full((5, 2), 0.5))):
            assert reply.kind in ("exception", "crash")
            if reply.kind == "exception":
                assert reply.error.startswith("MemoryError")
        assert sb.construct(2).ok


def test_processes_and_threads_cannot_be_started_and_nothing_survives_close():
    with sandbox("fork") as sb:
        reply = sb.estep(2, PARAMS2, X5)
        assert reply.ok, reply.error
        lines = reply.output.splitlines()
        started = [int(line.rsplit(": ", 1)[1]) for line in lines if "succeeded: " in line]
    assert lines == [
        f"{when} {what} failed: {error}"
        for when in ("import", "estep")
        for what, error in (
            ("fork", "BlockingIOError"),
            ("popen", "BlockingIOError"),
            ("thread", "RuntimeError"),
        )
    ]
    for pid in started:  # (empty here; would have to be gone if RLIMIT_NPROC ever failed)
        assert not os.path.exists(f"/proc/{pid}")


# --- what the kernel offers, and the check of what the worker applied ---------------------


def test_a_layer_turned_off_is_reported_and_warned_about(monkeypatch):
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "landlock, seccomp")
    support = isolation.kernel_support()
    assert support.landlock_abi == 0 and not support.seccomp
    assert support.forced_off == {"landlock", "seccomp"}
    warnings = support.warnings()
    assert len(warnings) == 2
    assert "turned off by GMM1D_SANDBOX_WITHOUT" in warnings[0]
    assert "can read any file" in warnings[0] and "use the network" in warnings[0]
    assert ("It runs as you, so it can read your files." in warnings[0]) is (not ROOT)
    assert "sockets" in warnings[1]
    monkeypatch.setenv(isolation.WITHOUT_VARIABLE, "landlok")
    with pytest.raises(SandboxError, match="unknown layers: landlok"):
        isolation.kernel_support()


def test_full_support_gives_no_warning():
    if not (SUPPORT.landlock_abi and SUPPORT.seccomp):
        pytest.skip(f"this machine lacks a layer: {SUPPORT.warnings()}")
    assert SUPPORT.warnings() == []


def _report(**changes):
    report = {
        "uid": os.getuid(),
        "capability": None,
        "landlock": SUPPORT.landlock_parts,
        "seccomp": 50 if SUPPORT.seccomp else 0,
    }
    report.update(changes)
    return report


@pytest.mark.parametrize(
    "changes, refusal",
    [
        ({"landlock": []}, "Landlock parts"),
        ({"landlock": ["files"]}, "Landlock parts"),
        ({"seccomp": 0}, "no seccomp filter"),
        ({"capability": "CAP_SYS_ADMIN"}, "without Landlock"),
        ({"uid": "0"}, "malformed"),
    ],
)
def test_a_worker_weaker_than_the_machine_allows_is_refused(changes, refusal):
    """The report is compared with what the kernel offers and with the worker's /proc status
    (here: this test process's own, which has no seccomp filter)."""
    if not (ABI >= 4 and SUPPORT.seccomp):
        pytest.skip("needs Landlock ABI 4+ and seccomp to tell every refusal apart")
    with pytest.raises(SandboxError, match=refusal):
        isolation.check_confinement(_report(**changes), os.getpid(), None, SUPPORT)


@pytest.mark.parametrize(
    "abi, missing", [(3, ["network", "scopes"]), (5, ["scopes"]), (6, [])], ids=str
)
def test_a_landlock_older_than_a_part_is_warned_about_and_recorded(abi, missing, monkeypatch):
    """Never silently weaker: a kernel whose Landlock has files but not TCP rules or scopes
    says which part is missing and what that leaves open, at start and in every grading."""
    support = dataclasses.replace(SUPPORT, landlock_abi=abi, seccomp=False)
    gaps = support.landlock_gaps()
    assert [gap.split()[1] for gap in gaps] == missing
    assert all(f"{gap}." in support.warnings() for gap in gaps)
    monkeypatch.setattr(isolation, "proc_status", lambda pid: {"NoNewPrivs": "1"})
    report = _report(landlock=support.landlock_parts, seccomp=0)
    confinement = isolation.check_confinement(report, os.getpid(), None, support)
    assert [line for line in confinement.off if line.startswith("Landlock ")] == gaps


def test_calls_an_older_libseccomp_does_not_know_are_recorded_as_refused(monkeypatch):
    support = dataclasses.replace(SUPPORT, seccomp=True)
    monkeypatch.setattr(isolation, "proc_status", lambda pid: {"Seccomp": "2", "NoNewPrivs": "1"})
    report = _report(seccomp=40, seccomp_unknown=["faccessat2", "clone3"])
    confinement = isolation.check_confinement(report, os.getpid(), None, support)
    assert "seccomp: this libseccomp does not know faccessat2, clone3, so they are refused" in (
        " ".join(confinement.off)
    )
    with pytest.raises(SandboxError, match="malformed"):
        isolation.check_confinement(_report(seccomp_unknown="x"), os.getpid(), None, support)


def test_the_confinement_of_a_real_worker_is_checked_and_summarised():
    with sandbox("correct_small") as sb:
        assert sb.estep(2, PARAMS2, X5).ok
        confinement = sb.confinement
    assert list(confinement.landlock) == SUPPORT.landlock_parts
    assert bool(confinement.seccomp_allowed) == SUPPORT.seccomp
    assert not [line for line in confinement.off if "does not know" in line]  # all resolved
    assert confinement.separate_uid == ROOT
    summary = confinement.summary()
    assert summary.startswith("sandbox: ")
    extra = confinement.as_dict()
    assert extra["landlock"] == SUPPORT.landlock_parts and extra["separate_uid"] == ROOT
    json.dumps(extra)  # goes into results.json


def test_the_plan_carries_every_limit():
    limits = Limits(memory_mb=300, cpu_seconds=7, open_files=32)
    plan = isolation.make_plan(limits, None, SUPPORT)
    assert plan["uid"] is None and plan["parent_pid"] == os.getpid()
    assert (plan["landlock_abi"], plan["seccomp"]) == (SUPPORT.landlock_abi, SUPPORT.seccomp)
    assert plan["rlimits"] == {
        "AS": 300 << 20,
        "FSIZE": limits.file_bytes,
        "CORE": 0,
        "NOFILE": 32,
        "NPROC": 0,
        "MSGQUEUE": 0,
        "CPU": [7, 8],
    }
    json.dumps(plan)  # travels on the worker's command line


def test_landlock_never_opens_the_root_or_a_folder_above_the_private_directory(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    roots = confine.interpreter_roots()
    assert "/" not in roots
    assert not any(str(tmp_path).startswith(root.rstrip("/") + "/") for root in roots)
    assert all(pathlib.Path(root).is_dir() for root in roots)
    assert not any(root.startswith(("/dev", "/proc", "/sys")) for root in roots)


def test_a_system_interpreters_prefix_is_not_opened_whole(monkeypatch):
    """Gradescope's venv sits on /usr/bin/python3, whose prefix is /usr: the standard library
    and site-packages are read through sys.path instead of the whole system tree."""
    for name in ("prefix", "exec_prefix", "base_prefix", "base_exec_prefix"):
        monkeypatch.setattr(sys, name, "/usr")
    stdlib = os.path.dirname(os.__file__)
    roots = confine.interpreter_roots()
    assert "/usr" not in roots and "/usr/local" not in roots
    assert os.path.realpath(stdlib) in roots


def test_matplotlib_is_preloaded_only_for_an_import_that_runs_at_import_time():
    """The stub's plot_fit imports matplotlib inside the function: preloading it for every
    upload cost each grading a font list built in memory. A top-level import (or one in a
    try at the top) still gets it; a file that does not parse falls back to naming it."""
    stub = (paths.PROJECT_ROOT / "gmm1d.py").read_bytes()
    assert b"matplotlib" in stub
    cases = {
        stub: False,
        b"import matplotlib.pyplot as plt\n": True,
        b"try:\n    from matplotlib import pyplot\nexcept ImportError:\n    pass\n": True,
        b"def f():\n    import matplotlib\n": False,
        b"# matplotlib\nx = (": True,
        b"import numpy\n": False,
    }
    for source, preloaded in cases.items():
        plan = isolation.make_plan(Limits(), None, isolation.kernel_support(), source)
        assert (plan["preload"] == ["matplotlib.pyplot"]) is preloaded, source[:60]
