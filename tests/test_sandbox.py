"""The sandbox end to end: real worker processes running the submissions in tests/sandbox_cases/.

Expected numbers come from the published known answers (../shared/reference/known-answers.md)
or from the reference solution run in *this* process, never from the sandbox itself. Every
test that starts workers also checks, after ``close()``, that none of their process groups or
sessions is left (``no_leftovers``).
"""

import contextlib
import importlib.util
import json
import os
import pathlib
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from grader import paths, worker
from grader.sandbox import (
    Limits,
    OutputCapture,
    Sandbox,
    SandboxError,
    clean_text,
    strip_paths,
    worker_source,
)

CASES = pathlib.Path(__file__).parent / "sandbox_cases"
FAST = Limits(call_timeout=2, startup_timeout=5, total_budget=20)
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not ROOT, reason="needs root: the privilege drop is only exercised as root (CI runs as root)"
)

# Known answers (6.86x "An Example Update"): two clusters, five points.
X5 = np.array([0.2, -0.9, -1.0, 1.2, 1.8]).reshape(-1, 1)
PARAMS2 = {
    "priors": np.array([0.5, 0.5]),
    "mus": np.array([-3.0, 2.0]),
    "variances": np.array([4.0, 4.0]),
}
GAMMA1 = np.array([0.2942149722, 0.6224593312, 0.6513548647, 0.1066905939, 0.0534033298])
AFTER_M = {
    "priors": [0.3456246184, 0.6543753816],
    "mus": [-0.5373289474, 0.6811290964],
    "variances": [0.5757859285, 1.0752479632],
}
PARAMS3 = {
    "priors": np.array([0.2, 0.3, 0.5]),
    "mus": np.array([-1.0, 0.5, 2.0]),
    "variances": np.array([0.5, 1.0, 2.0]),
}


def _reference_module():
    spec = importlib.util.spec_from_file_location(
        "reference_gmm1d_for_sandbox_tests", paths.SOLUTION_PATH
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _reference_module()


def reference_model(params):
    model = REFERENCE.GMM1D(len(params["priors"]))
    for name, value in params.items():
        setattr(model, name, np.array(value, dtype=float).reshape(-1, 1))
    return model


def data(n=40, seed=1):
    return np.random.RandomState(seed).randn(n, 1) * 2.0


# --- process bookkeeping (independent of the code under test) -------------------------------


def _sessions_alive(sids):
    """pids of live processes whose session or process group is one of ``sids``."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        state, pgrp, session = fields[0], int(fields[2]), int(fields[3])
        if state != b"Z" and (pgrp in sids or session in sids):
            alive.append(int(entry))
    return alive


class Tracked:
    """A Sandbox that remembers the pid and private directory of every worker it starts.

    (Bookkeeping only: it wraps the instance's spawn method, and changes nothing else.)
    """

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.pids = []
        self.dirs = []
        spawn = sandbox._spawn

        def spawn_and_note():
            started = spawn()
            self.pids.append(started.pid)
            self.dirs.append(started.private_dir)
            return started

        sandbox._spawn = spawn_and_note

    def __getattr__(self, name):
        return getattr(self.sandbox, name)


@contextlib.contextmanager
def sandbox(case, limits=FAST, **kwargs):
    """A tracked Sandbox for tests/sandbox_cases/<case>.py (or a path); checks close()."""
    path = case if isinstance(case, pathlib.Path) else CASES / f"{case}.py"
    tracked = Tracked(Sandbox(path, limits, **kwargs))
    try:
        yield tracked
    finally:
        tracked.sandbox.close()
    no_leftovers(tracked)


def no_leftovers(tracked):
    for pid in tracked.pids:
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
    assert _sessions_alive(tracked.pids) == []
    for directory in tracked.dirs:
        assert not os.path.exists(directory)


def case_from_template(tmp_path, case, old, new):
    text = (CASES / f"{case}.py").read_text()
    assert old in text
    target = tmp_path / f"{case}.py"
    target.write_text(text.replace(old, new))
    return target


def assert_student_facing(message):
    assert message and "\n" not in message and len(message) <= 300
    assert "/tmp" not in message and "/work" not in message and "/root" not in message
    assert "gmm1d-sandbox" not in message


# --- pure helpers (no processes) ----------------------------------------------------------


def test_strip_paths_keeps_only_file_names():
    text = (
        'File "/tmp/gmm1d-sandbox-x1y2/gmm1d.py", line 3; see /autograder/source/grader/checks.py'
    )
    assert strip_paths(text) == 'File "gmm1d.py", line 3; see checks.py'


def test_clean_text_is_one_short_printable_line():
    text = clean_text("a\x00b\nc\td\x1b[31m " + "x" * 500)
    assert text.startswith("ab c d[31m x")
    assert len(text) == 300 and text.endswith("...")


def test_output_capture_keeps_head_and_counts_the_rest():
    capture = OutputCapture(10)
    capture.feed(b"0123456")
    capture.feed(b"789abcdef")
    capture.feed(b"\xff\x00")
    assert capture.text() == "0123456789\n[... 8 more bytes not shown]"
    small = OutputCapture(10)
    small.feed(b"caf\xe9\x00!")
    assert small.text() == "caf\ufffd!"


def test_worker_describe_exception_points_at_deepest_submission_line():
    filename = "/tmp/somewhere/gmm1d.py"
    code = compile("def helper():\n    int('x')\n\ndef estep():\n    helper()\n", filename, "exec")
    namespace = {}
    exec(code, namespace)
    with pytest.raises(ValueError) as info:
        namespace["estep"]()
    text = worker.describe_exception(info.value, filename)
    assert (
        text
        == "ValueError: invalid literal for int() with base 10: 'x' (gmm1d.py, line 2, in helper)"
    )


def test_worker_styled_keeps_the_constructors_storage():
    values = np.array([1.0, 2.0, 3.0])
    assert worker.styled([0, 0, 0], values, 3) == [1.0, 2.0, 3.0]
    assert worker.styled((0, 0, 0), values, 3) == (1.0, 2.0, 3.0)
    assert worker.styled(np.zeros((1, 3)), values, 3).shape == (1, 3)
    assert worker.styled(np.zeros(3), values, 3).shape == (3,)
    assert worker.styled(np.zeros(4), values, 3).shape == (3, 1)  # wrong size: a column
    assert worker.styled(None, values, 3).shape == (3, 1)


def test_worker_to_float_array_refuses_what_numpy_would_silently_convert():
    assert worker.to_float_array(None)[0] is None  # np.array(None, float) would be nan
    assert worker.to_float_array("1.5")[0] is None
    assert worker.to_float_array(np.array([1j]))[0] is None
    array, error = worker.to_float_array([[1, 2], [3, 4]])
    assert error is None and array.dtype == np.float64 and array.shape == (2, 2)


def test_worker_source_is_one_argv_string_that_compiles():
    source = worker_source()
    assert len(source.encode()) < 128 * 1024
    compile(source, "<worker>", "exec")


# --- happy path ---------------------------------------------------------------------------


def test_reference_through_the_sandbox_matches_known_answers_and_in_process_reference():
    X = data()
    with sandbox(paths.SOLUTION_PATH) as sb:
        reply = sb.construct(3)
        assert reply.ok, reply.error
        assert reply.values["num_gaussians"] == 3
        assert reply.values["param_types"] == {
            n: "ndarray (3, 1)" for n in ("priors", "mus", "variances")
        }
        np.testing.assert_array_equal(reply.arrays["priors"], np.full(3, 1 / 3))
        assert reply.arrays["mus"].shape == (3,)

        reply = sb.estep(2, PARAMS2, X5)
        assert reply.ok and reply.error == "" and reply.output == ""
        assert reply.values == {"result_type": "numpy.ndarray", "result_shape": [5, 2]}
        np.testing.assert_allclose(reply.arrays["result"][:, 0], GAMMA1, atol=1e-10)
        np.testing.assert_array_equal(reply.arrays["X_after"], X5)

        reply = sb.estep(3, PARAMS3, X)
        expected = reference_model(PARAMS3).estep(X.copy())
        np.testing.assert_allclose(reply.arrays["result"], expected, rtol=1e-13, atol=0)
        for name in ("priors", "mus", "variances"):
            np.testing.assert_array_equal(reply.arrays[name], PARAMS3[name])

        gammas = reference_model(PARAMS2).estep(X5.copy())
        reply = sb.mstep(2, PARAMS2, X5, gammas)
        assert reply.ok and reply.values == {"returned_type": "NoneType"}
        for name, expected in AFTER_M.items():
            np.testing.assert_allclose(reply.arrays[name], expected, atol=1e-9)
        np.testing.assert_array_equal(reply.arrays["gammas_after"], gammas)

        reply = sb.em_step(2, PARAMS2, X5)
        assert reply.ok
        np.testing.assert_allclose(reply.arrays["gammas"][:, 0], GAMMA1, atol=1e-10)
        for name, expected in AFTER_M.items():
            np.testing.assert_allclose(reply.arrays[name], expected, atol=1e-9)
        for reply_array in reply.arrays.values():
            assert type(reply_array) is np.ndarray and reply_array.dtype == np.float64


def test_random_initialisation_is_the_same_in_every_call():
    with sandbox(paths.SOLUTION_PATH) as sb:
        first, second = sb.construct(4), sb.construct(4)
        np.testing.assert_array_equal(first.arrays["mus"], second.arrays["mus"])


@pytest.mark.parametrize(
    "style, described",
    [
        ("column", "ndarray (3, 1)"),
        ("row", "ndarray (1, 3)"),
        ("flat", "ndarray (3,)"),
        ("list", "list of 3"),
    ],
)
def test_parameters_are_set_in_the_students_own_style(tmp_path, style, described):
    submission = case_from_template(tmp_path, "styles", 'STYLE = "column"', f'STYLE = "{style}"')
    X = data()
    with sandbox(submission) as sb:
        reply = sb.construct(3)
        assert reply.values["param_types"] == {n: described for n in ("priors", "mus", "variances")}

        reply = sb.estep(3, PARAMS3, X)
        assert reply.ok, reply.error  # the case raises TypeError if its style was not kept
        assert reply.values["result_type"] == ("list" if style == "list" else "numpy.ndarray")
        assert reply.values["result_shape"] == [40, 3]
        expected_gammas = reference_model(PARAMS3).estep(X.copy())
        np.testing.assert_allclose(reply.arrays["result"], expected_gammas, rtol=1e-12)

        reply = sb.em_step(3, PARAMS3, X)
        assert reply.ok, reply.error
        expected = reference_model(PARAMS3)
        expected.mstep(X, expected.estep(X))
        for name in ("priors", "mus", "variances"):
            np.testing.assert_allclose(
                reply.arrays[name], getattr(expected, name).ravel(), rtol=1e-12
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


# --- import failures ----------------------------------------------------------------------


def test_syntax_error_is_a_load_error_with_line_number_and_no_paths():
    with sandbox("syntax_error") as sb:
        reply = sb.construct(2)
        assert reply.kind == "load_error"
        assert reply.error.startswith("importing gmm1d.py failed: SyntaxError: ")
        assert "(gmm1d.py, line 3)" in reply.error
        assert_student_facing(reply.error)
        assert sb.load_error == reply.error
        again = sb.estep(2, PARAMS2, X5)
        assert (again.kind, again.error, again.elapsed) == ("load_error", reply.error, 0.0)
        assert sb.worker_pid is None  # not retried


@pytest.mark.parametrize(
    "case, expected",
    [
        (
            "import_os_exit",
            "importing gmm1d.py failed: the process running your code exited (exit code 3)",
        ),
        (
            "import_sys_exit",
            "importing gmm1d.py failed: SystemExit: 4 (gmm1d.py, line 3, in <module>)",
        ),
        (
            "import_keyboard_interrupt",
            "importing gmm1d.py failed: KeyboardInterrupt (gmm1d.py, line 2, in <module>)",
        ),
    ],
)
def test_import_that_exits_or_interrupts_is_a_load_error(case, expected):
    with sandbox(case) as sb:
        reply = sb.construct(2)
        assert (reply.kind, reply.error) == ("load_error", expected)
        if case == "import_keyboard_interrupt":
            assert reply.output == "about to interrupt\n"
        assert sb.mstep(2, PARAMS2, X5, np.full((5, 2), 0.5)).kind == "load_error"


def test_missing_class_lists_the_classes_found():
    with sandbox("missing_class") as sb:
        reply = sb.construct(2)
        assert (reply.kind, reply.error) == (
            "load_error",
            "gmm1d.py defines no class GMM1D (classes found: Gmm, Helper)",
        )


def test_gmm1d_that_is_not_a_class_is_a_load_error():
    with sandbox("not_a_class") as sb:
        reply = sb.construct(2)
        assert reply.kind == "load_error"
        assert reply.error == "gmm1d.py defines GMM1D, but it is a function, not a class"


@pytest.mark.slow
def test_import_that_never_finishes_is_a_load_error():
    limits = Limits(call_timeout=2, startup_timeout=3, total_budget=20)
    with sandbox("import_hang", limits) as sb:
        reply = sb.construct(2)
        assert (reply.kind, reply.error) == (
            "load_error",
            "importing gmm1d.py did not finish within 3 s",
        )
        assert sb.estep(2, PARAMS2, X5).error == reply.error


# --- failures during a call ---------------------------------------------------------------


@pytest.mark.slow
def test_hanging_estep_times_out_costs_only_estep_and_is_not_run_again():
    X = data()
    with sandbox("hang_estep") as sb:
        reply = sb.estep(3, PARAMS3, X)
        assert (reply.kind, reply.error) == ("timeout", "estep did not return within 2 s")
        [hung_pid] = sb.pids

        gammas = reference_model(PARAMS3).estep(X.copy())
        reply = sb.mstep(3, PARAMS3, X, gammas)
        assert reply.ok, reply.error  # a fresh worker
        assert sb.worker_pid != hung_pid
        expected = reference_model(PARAMS3)
        expected.mstep(X, gammas)
        np.testing.assert_allclose(reply.arrays["mus"], expected.mus.ravel(), rtol=1e-12)

        for again in (sb.estep(3, PARAMS3, X), sb.em_step(3, PARAMS3, X)):
            assert again.kind == "skipped" and again.elapsed == 0.0
            assert (
                again.error
                == "estep already exceeded the time limit in an earlier check; not run again"
            )
        assert sb.construct(3).ok
        with pytest.raises(ProcessLookupError):
            os.killpg(hung_pid, 0)


def test_os_exit_in_estep_is_a_crash_and_the_next_call_works():
    with sandbox("exit_estep") as sb:
        reply = sb.estep(2, PARAMS2, X5)
        assert (reply.kind, reply.error) == (
            "crash",
            "the process running your code exited (exit code 5)",
        )
        assert reply.values == {"exit_code": 5}
        gammas = np.column_stack([GAMMA1, 1 - GAMMA1])
        reply = sb.mstep(2, PARAMS2, X5, gammas)
        assert reply.ok
        np.testing.assert_allclose(reply.arrays["priors"], AFTER_M["priors"], atol=1e-9)
        assert sb.estep(2, PARAMS2, X5).kind == "crash"  # crashes are not "hung": run again


def test_exceptions_are_one_line_with_the_students_location():
    with sandbox("raises") as sb:
        reply = sb.estep(2, PARAMS2, X5)
        assert reply.kind == "exception"
        assert reply.error == "ValueError: X is bad, see gmm1d.py (gmm1d.py, line 6, in _check)"
        assert reply.values == {"stage": "estep"} and reply.arrays == {}
        pid = sb.worker_pid

        quarter = np.full((5, 2), 0.25)
        reply = sb.mstep(2, PARAMS2, X5, quarter)
        assert (reply.kind, reply.error) == (
            "exception",
            "SystemExit: 3 (gmm1d.py, line 21, in mstep)",
        )
        reply = sb.mstep(2, PARAMS2, X5, np.full((5, 2), 0.5))
        assert reply.kind == "exception"
        assert reply.error.startswith("ValueError: ") and reply.error.endswith(
            "(gmm1d.py, line 23, in mstep)"
        )
        reply = sb.mstep(2, PARAMS2, X5, np.ones((5, 2)))
        assert (reply.kind, reply.error) == (
            "exception",
            "KeyboardInterrupt (gmm1d.py, line 24, in mstep)",
        )
        assert sb.construct(2).ok
        assert sb.worker_pid == pid  # exceptions are caught in the worker; it carries on


def test_memory_bomb_is_stopped_by_the_address_space_limit():
    with sandbox("memory_bomb") as sb:
        for reply in (sb.estep(2, PARAMS2, X5), sb.mstep(2, PARAMS2, X5, np.full((5, 2), 0.5))):
            assert reply.kind in ("exception", "crash")
            if reply.kind == "exception":
                assert reply.error.startswith("MemoryError")
        assert sb.construct(2).ok


def test_huge_and_binary_output_is_truncated_to_valid_text():
    with sandbox("huge_output") as sb:
        reply = sb.estep(2, PARAMS2, X5)
        assert reply.ok
        np.testing.assert_allclose(reply.arrays["result"][:, 0], GAMMA1, atol=1e-10)
        dropped = 100 * 2**20 - FAST.output_bytes
        assert reply.output == "x" * FAST.output_bytes + f"\n[... {dropped} more bytes not shown]"

        reply = sb.mstep(2, PARAMS2, X5, np.column_stack([GAMMA1, 1 - GAMMA1]))
        assert reply.ok
        assert reply.output == "caf\ufffd \ufffd\ufffd end\ndone\n"


def test_nan_results_come_back_as_nan():
    with sandbox("nan_result") as sb:
        reply = sb.estep(2, PARAMS2, X5)
        assert reply.ok and reply.arrays["result"].shape == (5, 2)
        assert np.isnan(reply.arrays["result"]).all()
        reply = sb.mstep(2, PARAMS2, X5, np.full((5, 2), 0.5))
        assert np.isnan(reply.arrays["priors"]).all()
        np.testing.assert_array_equal(reply.arrays["mus"], [np.inf, np.inf])
        np.testing.assert_array_equal(reply.arrays["variances"], [-np.inf, -np.inf])


def test_lying_ndarray_subclass_comes_back_as_its_real_data():
    with sandbox("lying_subclass") as sb:
        reply = sb.estep(2, PARAMS2, X5)
    assert reply.ok, reply.error
    assert reply.values["result_type"] == "subclass of numpy.ndarray (gmm1d.Liar)"
    assert reply.values["result_shape"] == [5, 2]
    result = reply.arrays["result"]
    assert type(result) is np.ndarray and result.dtype == np.float64 and result.shape == (5, 2)
    np.testing.assert_allclose(result[:, 0], GAMMA1, atol=1e-10)


def test_odd_constructor_is_described_not_trusted():
    with sandbox("odd_construct") as sb:
        reply = sb.construct(3)
    assert reply.ok
    assert reply.values["num_gaussians"] is None and reply.values["num_gaussians_repr"] == "3.0"
    assert reply.values["param_types"] == {
        "priors": "list of 3",
        "mus": "str",
        "variances": "missing",
    }
    assert set(reply.values["param_errors"]) == {"mus", "variances"}
    assert set(reply.arrays) == {"priors"}
    np.testing.assert_allclose(reply.arrays["priors"], [1 / 3] * 3)


@pytest.mark.parametrize(
    "mode",
    [
        "garbage",
        "huge_header",
        "huge_array",
        "bad_types",
        "wrong_kind",
        "nan_header",
        "pickle",
        "short_array",
        "unknown_array",
        "bad_progress",
    ],
)
def test_forged_frames_are_a_protocol_error_and_the_grader_carries_on(tmp_path, mode):
    marker = tmp_path / "unpickled"
    submission = case_from_template(tmp_path, "forged", 'MODE = "garbage"', f'MODE = "{mode}"')
    submission.write_text(submission.read_text().replace("/nonexistent/marker", str(marker)))
    with sandbox(submission) as sb:
        reply = sb.estep(2, PARAMS2, X5)
        assert (reply.kind, reply.error) == (
            "protocol",
            "your code's process sent back something unreadable",
        )
        assert reply.arrays == {}
        assert sb.worker_pid is None  # killed at once, not after the case's 5 s sleep
        assert sb.construct(2).ok  # a fresh worker
    assert not marker.exists()


def test_a_well_formed_forgery_is_only_the_students_own_answer(tmp_path):
    submission = case_from_template(
        tmp_path, "forged", 'MODE = "garbage"', 'MODE = "valid_forgery"'
    )
    with sandbox(submission) as sb:
        reply = sb.estep(2, PARAMS2, X5)
        assert reply.ok  # the student's code chose these numbers: they are its answer
        np.testing.assert_array_equal(reply.arrays["result"], np.full((5, 2), 0.5))
        # Our worker's own reply to that call arrives later: out of order, so refused.
        assert sb.construct(2).kind == "protocol"
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


def test_budget_exhaustion_skips_later_calls():
    limits = Limits(call_timeout=2, startup_timeout=5, total_budget=1.0)
    with sandbox("slow_estep", limits) as sb:
        replies = []
        for _ in range(8):
            replies.append(sb.estep(2, PARAMS2, X5))
            if replies[-1].kind == "skipped":
                break
    *before, last = replies
    assert (last.kind, last.error) == ("skipped", "the time budget for your code (1 s) is used up")
    assert last.elapsed == 0.0
    assert before and before[0].ok
    for reply in before[1:]:
        assert reply.ok or (reply.kind, reply.error) == (
            "timeout",
            "estep was stopped: the time budget for your code (1 s) is used up",
        )
    assert sb.budget_used >= 1.0


# --- our side -----------------------------------------------------------------------------


def test_missing_interpreter_is_a_sandbox_error():
    with pytest.raises(SandboxError, match="/nonexistent/python3"):
        with sandbox(paths.SOLUTION_PATH, python="/nonexistent/python3") as sb:
            sb.construct(2)


def test_worker_dying_before_ready_is_a_sandbox_error():
    directory = pathlib.Path(tempfile.mkdtemp(prefix="sandbox-fake-python-"))
    try:
        directory.chmod(0o755)  # reachable by the sandbox user when we are root
        fake = directory / "python"
        fake.write_text(
            "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'numpy'\" >&2\nexit 1\n"
        )
        fake.chmod(0o755)
        with pytest.raises(SandboxError) as info:
            with sandbox(paths.SOLUTION_PATH, python=str(fake)) as sb:
                sb.construct(2)
        message = str(info.value)
        assert (
            "exit code 1" in message
            and "No module named 'numpy'" in message
            and str(fake) in message
        )
    finally:
        shutil.rmtree(directory)


def _python_without_numpy():
    for candidate in ("/root/.pyenv/versions/3.10.13/bin/python", "/usr/bin/python3"):
        if os.path.exists(candidate):
            probe = subprocess.run([candidate, "-I", "-c", "import numpy"], capture_output=True)
            if probe.returncode != 0:
                return candidate
    return None


@pytest.mark.skipif(_python_without_numpy() is None, reason="no interpreter without numpy here")
def test_interpreter_without_numpy_is_a_sandbox_error():
    python = _python_without_numpy()
    with pytest.raises(SandboxError, match="numpy"):
        with sandbox(paths.SOLUTION_PATH, python=python) as sb:
            sb.construct(2)


# --- privilege drop (root only) -------------------------------------------------------------


@pytest.fixture
def sandbox_user():
    """The sandbox account, created as CI does if missing."""
    try:
        return pwd.getpwnam(paths.SANDBOX_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", paths.SANDBOX_USER],
            check=True,
        )
        return pwd.getpwnam(paths.SANDBOX_USER)


@needs_root
def test_as_root_the_worker_cannot_touch_the_graders_files_or_process(tmp_path, sandbox_user):
    # A stand-in for the grader's tree: world-traversable, with private parts as setup.sh
    # makes them.
    grader = pathlib.Path(tempfile.mkdtemp(prefix="sandbox-root-test-"))
    try:
        grader.chmod(0o755)
        public = grader / "public.txt"
        public.write_text("anyone may read this")
        public.chmod(0o644)
        secret = grader / "secret.txt"
        secret.write_text("root only")
        secret.chmod(0o600)
        solution = grader / "solution"
        solution.mkdir()
        shutil.copy(paths.SOLUTION_PATH, solution / "gmm1d.py")
        (solution / "gmm1d.py").chmod(0o644)
        solution.chmod(0o750)  # chmod o= : others may not even look inside
        results = grader / "results"
        results.mkdir()
        results.chmod(0o755)
        targets = {
            "read": [str(public), str(secret), str(solution / "gmm1d.py")],
            "list": [str(solution)],
            "write": [".", str(results)],
        }
        submission = case_from_template(tmp_path, "probe", "TARGETS = {}", f"TARGETS = {targets!r}")
        with sandbox(submission) as sb:
            reply = sb.estep(2, PARAMS2, X5)
            assert reply.ok, reply.error
            directory = os.readlink(f"/proc/{sb.worker_pid}/cwd")
            info = os.stat(directory)
            uid = info.st_uid  # this sandbox's own throwaway uid
            assert uid >= paths.SANDBOX_UID_BASE and stat.S_IMODE(info.st_mode) == 0o700
        lines = reply.output.splitlines()
        assert lines == [
            f"uid {uid} gid {uid} groups []",
            f"read allowed: {public}",  # the probe works: only permissions stop the rest
            f"read denied: {secret} (PermissionError)",
            f"read denied: {solution / 'gmm1d.py'} (PermissionError)",
            f"list denied: {solution} (PermissionError)",
            "write allowed: .",
            f"write denied: {results} (PermissionError)",
            "signal parent denied (PermissionError)",
        ]
        assert not (results / "forged.json").exists()
    finally:
        shutil.rmtree(grader)


@needs_root
def test_as_root_an_interpreter_the_sandbox_user_cannot_reach_is_explained(tmp_path, sandbox_user):
    hidden = pathlib.Path(tempfile.mkdtemp(prefix="sandbox-hidden-python-"))  # mode 0700, root's
    try:
        (hidden / "python").symlink_to(sys.executable)
        with pytest.raises(SandboxError) as info:
            with sandbox(paths.SOLUTION_PATH, python=str(hidden / "python")) as sb:
                sb.construct(2)
        message = str(info.value)
        assert str(hidden / "python") in message and "sandbox uid" in message
        assert "chmod o+x /root" in message
    finally:
        shutil.rmtree(hidden)


@pytest.mark.slow
def test_a_worker_that_stops_reading_requests_costs_a_timeout_but_no_method():
    X = np.zeros((20000, 1))  # 160 kB: more than a pipe holds, so the write itself must not block
    with sandbox("sabotage", Limits(call_timeout=1, startup_timeout=5, total_budget=20)) as sb:
        reply = sb.estep(2, PARAMS2, X)
        assert (reply.kind, reply.error) == (
            "timeout",
            "your code's process did not answer within 1 s",
        )
        again = sb.estep(2, PARAMS2, X)
        assert again.kind == "timeout"  # not "skipped": no method was seen to hang
        assert len(sb.pids) == 2


def test_start_imports_ahead_of_the_first_call_and_keeps_its_output():
    with sandbox("import_keyboard_interrupt") as sb:
        reply = sb.start()
        assert reply.kind == "load_error" and reply.output == "about to interrupt\n"
    source = "print('imported')\n" + (CASES / "correct_small.py").read_text()
    directory = pathlib.Path(tempfile.mkdtemp())
    try:
        (directory / "gmm1d.py").write_text(source)
        with sandbox(directory / "gmm1d.py") as sb:
            assert sb.start() is None and sb.worker_pid is not None
            first, second = sb.construct(2), sb.construct(2)
            assert first.output == "imported\n" and second.output == ""
            assert len(sb.pids) == 1
    finally:
        shutil.rmtree(directory)


def test_worker_serve_survives_hostile_attribute_objects():
    """Worker.serve in this process: a count whose __int__ raises and a parameter whose
    property raises SystemExit are described, not fatal."""

    class EvilInt(int):
        def __int__(self):
            raise RuntimeError("no")

    class Model:
        def __init__(self, k):
            self.num_gaussians = EvilInt(k)
            self.mus = np.zeros(k)
            self.variances = [1.0] * k

        @property
        def priors(self):
            raise SystemExit("property")

    read_fd, write_fd = os.pipe()
    try:
        serving = worker.Worker(-1, write_fd, "/nowhere/gmm1d.py", "GMM1D", 1 << 20)
        serving.cls = Model
        header, arrays = serving.serve({"op": "construct", "k": 2, "id": 1}, {})
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert header["kind"] == "ok"
    values = header["values"]
    assert values["num_gaussians"] is None and values["num_gaussians_repr"] == "2"
    assert values["param_types"] == {
        "priors": "missing",
        "mus": "ndarray (2,)",
        "variances": "list of 2",
    }
    assert values["param_errors"] == {"priors": "reading it raised SystemExit: property"}
    assert set(arrays) == {"mus", "variances"}


@needs_root
def test_as_root_concurrent_sandboxes_cannot_signal_each_other(tmp_path):
    """Batch grading runs several sandboxes at once: each has its own uid, so a hostile
    submission cannot kill another student's worker."""
    with sandbox(paths.SOLUTION_PATH) as victim:
        assert victim.construct(2).ok
        pid = victim.worker_pid
        killer = tmp_path / "killer.py"
        killer.write_text(
            "import os, signal\n"
            "class GMM1D:\n"
            "    def __init__(self, k):\n"
            "        self.num_gaussians = k\n"
            "        self.priors = self.mus = self.variances = [1.0] * k\n"
            "    def estep(self, X):\n"
            "        try:\n"
            f"            os.kill({pid}, signal.SIGKILL)\n"
            "            print('killed')\n"
            "        except PermissionError:\n"
            "            print('denied')\n"
            "        return X\n"
        )
        with sandbox(killer) as attacker:
            reply = attacker.estep(2, PARAMS2, X5)
            assert reply.output.strip() == "denied"
        assert victim.worker_pid == pid and victim.estep(2, PARAMS2, X5).ok


@needs_root
@pytest.mark.parametrize("clears_pdeathsig", [False, True], ids=["plain", "clears-pdeathsig"])
def test_as_root_workers_of_a_killed_grader_do_not_survive(tmp_path, clears_pdeathsig):
    """A grader killed from outside (the batch's timeout) leaves its worker in a session of
    its own. The worker dies with it (parent-death signal); one that cleared that signal
    survives, and kill_workers_of() finds it by the grader's uid range."""
    from grader.sandbox import kill_workers_of

    sleeper = tmp_path / "sleeper.py"
    sleeper.write_text(
        "import ctypes, time\n"
        + (
            "ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # undo PR_SET_PDEATHSIG\n"
            if clears_pdeathsig
            else ""
        )
        + "class GMM1D:\n"
        "    def __init__(self, k):\n"
        "        self.num_gaussians = k\n"
        "        self.priors = self.mus = self.variances = [1.0] * k\n"
        "    def estep(self, X):\n"
        "        time.sleep(600)\n"
    )
    config = tmp_path / "config.ini"
    config.write_text(
        paths.CONFIG_PATH.read_text().replace(
            "call_timeout_seconds = 10", "call_timeout_seconds = 300"
        )
    )
    grader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader",
            str(sleeper),
            "--results",
            str(tmp_path / "r.json"),
            "--config",
            str(config),
        ],
        cwd=paths.PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    uids = range(
        paths.SANDBOX_UID_BASE + 64 * grader.pid, paths.SANDBOX_UID_BASE + 64 * (grader.pid + 1)
    )

    def workers():
        found = []
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{entry}/status") as handle:
                    fields = dict(line.split(":", 1) for line in handle if ":" in line)
                alive = not fields["State"].strip().startswith("Z")  # a zombie is already dead
                if alive and int(fields["Uid"].split()[0]) in uids:
                    found.append(int(entry))
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 30
    while not workers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers(), "the worker never started"
    time.sleep(1.0)  # let estep start sleeping
    (private,) = {os.readlink(f"/proc/{pid}/cwd") for pid in workers()}
    os.killpg(grader.pid, signal.SIGKILL)
    grader.wait()
    time.sleep(0.3)
    if not clears_pdeathsig:
        assert workers() == []
        assert os.path.exists(private)  # the killed grader could not clean up ...
        assert kill_workers_of(grader.pid) == 0
        assert not os.path.exists(private)  # ... the sweep does
        return
    assert workers(), "the worker should have outlived its grader (it cleared PDEATHSIG)"
    assert kill_workers_of(grader.pid) >= 1
    time.sleep(0.3)
    assert workers() == []
    assert not os.path.exists(private)  # and its private directory is gone


@pytest.mark.parametrize(
    "current, expected",
    [
        ([[0.5], [0.5]], [[0.25], [0.75]]),  # .tolist() of a (k, 1) column
        (((1.0,), (2.0,)), ((0.25,), (0.75,))),
        ([[1.0, 2.0]], [[0.25, 0.75]]),  # a (1, k) row
        ([1.0, 2.0], [0.25, 0.75]),
        ((1.0, 2.0), (0.25, 0.75)),
        (np.zeros((1, 2)), np.array([[0.25, 0.75]])),
    ],
)
def test_parameters_are_set_in_the_constructors_own_layout(current, expected):
    got = worker.styled(current, np.array([0.25, 0.75]), 2)
    assert type(got) is type(expected)
    assert np.array_equal(np.asarray(got), np.asarray(expected)) and np.shape(got) == np.shape(
        expected
    )


def test_an_oversized_reply_array_is_reported_not_decoded(tmp_path):
    """The red-team's memory bomb on the grader: a patched worker adds 33 MB of uint8 to a
    reply, which as float64 would be 264 MB here. It arrives as an array error instead."""
    text = paths.SOLUTION_PATH.read_text() + (
        "\nfrom grader import worker as _W\n"
        "_serve = _W.Worker.serve\n"
        "def _bloated(self, header, arrays):\n"
        "    reply, out = _serve(self, header, arrays)\n"
        "    if header['op'] == 'mstep' and reply['kind'] == 'ok':\n"
        "        out = dict(out, X_after=np.zeros(33_000_000, np.uint8))\n"
        "    return reply, out\n"
        "_W.Worker.serve = _bloated\n"
    )
    bloated = tmp_path / "bloated.py"
    bloated.write_text(text)
    gammas = np.full((5, 2), 0.5)
    with sandbox(bloated) as sb:
        reply = sb.mstep(2, PARAMS2, X5, gammas)
    assert reply.ok, reply.error
    assert "X_after" not in reply.arrays
    assert reply.values["array_errors"]["X_after"] == "too large to check: shape (33000000,)"


@needs_root
def test_as_root_files_left_in_shared_places_are_removed_at_close(tmp_path):
    """/tmp and /dev/shm are writable by any uid: what the submission leaves there (data for a
    later grading, or RAM in /dev/shm) is deleted when the sandbox closes."""
    litter = tmp_path / "litter.py"
    litter.write_text(
        "import os\n"
        "for place in ('/tmp', '/var/tmp', '/dev/shm'):\n"
        "    if os.path.isdir(place):\n"
        "        with open(os.path.join(place, 'litter-%d' % os.getpid()), 'w') as f:\n"
        "            f.write('x')\n"
        "        os.makedirs(os.path.join(place, 'litter-dir-%d' % os.getpid(), 'deep'), exist_ok=True)\n"  # noqa: E501
        "        print(place)\n"
        "class GMM1D:\n"
        "    def __init__(self, k):\n"
        "        self.num_gaussians = k\n"
        "        self.priors = self.mus = self.variances = [1.0] * k\n"
    )

    def owned():
        return [
            e.path
            for p in places
            for e in os.scandir(p)
            if e.stat(follow_symlinks=False).st_uid == uid
        ]

    with sandbox(litter) as sb:
        reply = sb.construct(2)
        uid = os.stat(f"/proc/{sb.worker_pid}").st_uid
        places = reply.output.split()
        assert len(owned()) >= 2 * len(places)  # the litter, before close
    assert places and owned() == []
