"""The Sandbox client end to end: real workers running tests/sandbox_cases/, and every way
a call can end (answer, exception, crash, timeout, forgery, budget, our side).

Expected numbers come from the published 6.86x answers (tests/sandbox_helpers.py) or from
the reference solution run in *this* process, never from the sandbox itself. Every test
that starts workers also checks, after ``close()``, that none of their process groups or
sessions is left and their private directories are gone.
"""

import os
import pathlib
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from grader import cases, paths
from grader.sandbox import Limits, SandboxError, protocol, worker
from grader.sandbox.process import OutputCapture
from tests.sandbox_helpers import (
    AFTER_M,
    CASES,
    FAST,
    GAMMA1,
    PARAMS2,
    PARAMS3,
    X5,
    assert_student_facing,
    case_from_template,
    data,
    reference_model,
    sandbox,
)


def test_output_capture_keeps_head_and_counts_the_rest():
    capture = OutputCapture(10)
    capture.feed(b"0123456")
    capture.feed(b"789abcdef")
    capture.feed(b"\xff\x00")
    assert capture.text() == "0123456789\n[... 8 more bytes not shown]"
    small = OutputCapture(10)
    small.feed(b"caf\xe9\x00!")
    assert small.text() == "caf\ufffd!"


def test_the_worker_is_told_the_labs_parameter_names(monkeypatch):
    """The worker cannot import grader/cases.py: its command line carries cases.PARAM_NAMES
    (after the class name), and a worker started with them serves the reference."""
    started = []
    real_popen = subprocess.Popen

    def recording_popen(argv, *args, **kwargs):
        started.append(list(argv))
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    with sandbox(paths.SOLUTION_PATH) as sb:
        reply = sb.construct(2)
    assert reply.ok, reply.error
    assert set(reply.values["param_types"]) == set(cases.PARAM_NAMES)
    (argv,) = started
    given = argv[argv.index(paths.CLASS_NAME) + 1]
    assert worker.parse_param_names(given) == cases.PARAM_NAMES


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

        reply = sb.em_run(2, PARAMS2, X5, iterations=3)
        assert reply.ok, reply.error
        assert reply.values["iterations_done"] == 3 and "failure" not in reply.values
        assert reply.values["layouts"] == reply.values["start_layouts"]
        for name, expected in AFTER_M.items():  # one row per iteration; the first is published
            assert reply.arrays[name].shape == (3, 2)
            np.testing.assert_allclose(reply.arrays[name][0], expected, atol=1e-9)
        model = reference_model(PARAMS2)
        for _ in range(3):
            model.mstep(X5, model.estep(X5.copy()))
        for name in ("priors", "mus", "variances"):
            np.testing.assert_allclose(
                reply.arrays[name][2], getattr(model, name).ravel(), rtol=1e-9
            )
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

        reply = sb.em_run(3, PARAMS3, X, iterations=2)
        assert reply.ok, reply.error
        assert reply.values["layouts"] == {n: described for n in ("priors", "mus", "variances")}
        expected = reference_model(PARAMS3)
        for _ in range(2):
            expected.mstep(X, expected.estep(X))
        for name in ("priors", "mus", "variances"):
            np.testing.assert_allclose(
                reply.arrays[name][-1], getattr(expected, name).ravel(), rtol=1e-12
            )


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

        for again in (sb.estep(3, PARAMS3, X), sb.em_run(3, PARAMS3, X, 5)):
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


def test_an_oversized_reply_array_is_reported_not_decoded(tmp_path):
    """The red-team's memory bomb on the grader: a patched worker adds 33 MB of uint8 to a
    reply, which as float64 would be 264 MB here. It arrives as an array error instead."""
    text = paths.SOLUTION_PATH.read_text() + (
        "\nfrom grader.sandbox import worker as _W\n"
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


def test_a_forged_loaded_frame_is_not_decoded(tmp_path, monkeypatch):
    """The start-up frames come after the submission's import, so it can send its own
    "loaded" frame, with 8 MB of int8 that would decode to 64 MB of float64 here. The
    reader decodes no array outside a call: it arrives as TooLarge, never converted."""
    text = paths.SOLUTION_PATH.read_text() + (
        "\nimport json as _json, struct as _struct\n"
        "def _forge():\n"
        "    blob = _npy_bytes(np.zeros(8_000_000, np.int8))\n"
        "    header = _json.dumps({'type': 'loaded', 'status': 'ok', 'classes': ['GMM1D'],\n"
        "                          'arrays': [['bomb', len(blob)]]}).encode()\n"
        "    os.write(int(sys.argv[2]), _struct.pack('>I', len(header)) + header + blob)\n"
        "def _npy_bytes(array):\n"
        "    import io\n"
        "    buffer = io.BytesIO()\n"
        "    np.save(buffer, array)\n"
        "    return buffer.getvalue()\n"
        "import os, sys\n"
        "_forge()\n"
    )
    forging = tmp_path / "forging.py"
    forging.write_text(text)
    decoded = []
    real = protocol.decode_array

    def recording(data, max_elements=None):
        array = real(data, max_elements)
        decoded.append(array)
        return array

    monkeypatch.setattr(protocol, "decode_array", recording)
    with sandbox(forging) as sb:
        sb.construct(2)
    bombs = [a for a in decoded if a.shape == (8_000_000,)]
    assert bombs and all(isinstance(a, protocol.TooLarge) for a in bombs), decoded


def test_em_run_gives_each_method_a_calls_time_within_the_budget():
    """30 iterations in one call: each estep and mstep has the per-call timeout to itself,
    so a run longer than one call's time passes, and the budget still bounds the whole."""
    limits = Limits(call_timeout=1, startup_timeout=5, total_budget=20)
    with sandbox("slow_estep", limits) as sb:  # each estep sleeps 0.4 s
        reply = sb.em_run(2, PARAMS2, X5, iterations=4)  # 1.6 s in all, over one call's 1 s
        assert reply.ok, reply.error
        assert reply.values["iterations_done"] == 4
    tight = Limits(call_timeout=1, startup_timeout=5, total_budget=2.5)
    with sandbox("slow_estep", tight) as sb:
        reply = sb.em_run(2, PARAMS2, X5, iterations=30)
        assert reply.kind == "timeout" and "time budget for your code" in reply.error
