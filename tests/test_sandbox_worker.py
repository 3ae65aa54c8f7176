"""The worker program on its own (no processes): describing student objects, setting
parameters in the student's style, and the source text it is started with."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from grader.cases import PARAM_NAMES
from grader.sandbox import describe, worker
from grader.sandbox.process import worker_source

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_worker_describe_exception_points_at_deepest_submission_line():
    filename = "/tmp/somewhere/gmm1d.py"
    code = compile("def helper():\n    int('x')\n\ndef estep():\n    helper()\n", filename, "exec")
    namespace = {}
    exec(code, namespace)
    with pytest.raises(ValueError) as info:
        namespace["estep"]()
    text = describe.describe_exception(info.value, filename)
    assert (
        text
        == "ValueError: invalid literal for int() with base 10: 'x' (gmm1d.py, line 2, in helper)"
    )


def test_worker_styled_keeps_the_constructors_storage():
    values = np.array([1.0, 2.0, 3.0])
    assert describe.styled([0, 0, 0], values, 3) == [1.0, 2.0, 3.0]
    assert describe.styled((0, 0, 0), values, 3) == (1.0, 2.0, 3.0)
    assert describe.styled(np.zeros((1, 3)), values, 3).shape == (1, 3)
    assert describe.styled(np.zeros(3), values, 3).shape == (3,)
    assert describe.styled(np.zeros(4), values, 3).shape == (3, 1)  # wrong size: a column
    assert describe.styled(None, values, 3).shape == (3, 1)


def test_worker_to_float_array_refuses_what_numpy_would_silently_convert():
    assert describe.to_float_array(None)[0] is None  # np.array(None, float) would be nan
    assert describe.to_float_array("1.5")[0] is None
    assert describe.to_float_array(np.array([1j]))[0] is None
    array, error = describe.to_float_array([[1, 2], [3, 4]])
    assert error is None and array.dtype == np.float64 and array.shape == (2, 2)


def test_worker_source_is_one_argv_string_that_compiles():
    source = worker_source()
    assert len(source.encode()) < 128 * 1024
    compile(source, "<worker>", "exec")


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
        serving = worker.Worker(-1, write_fd, "/nowhere/gmm1d.py", "GMM1D", PARAM_NAMES, 1 << 20)
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
    got = describe.styled(current, np.array([0.25, 0.75]), 2)
    assert type(got) is type(expected)
    assert np.array_equal(np.asarray(got), np.asarray(expected)) and np.shape(got) == np.shape(
        expected
    )


UNINITIALISED = """
import sys
import numpy as np
from grader.sandbox import worker
shape, patched = (int(sys.argv[1]), int(sys.argv[2])), sys.argv[3] == "patched"
if patched:
    worker.uninitialised_reads_as_nan()
from numpy import empty  # bound after the patch, as a submission's import is
stale = nan = 0
for _ in range(50):
    np.full(shape, 0.25)  # an answer, freed at once: what np.empty finds next
    for out in (empty(shape), np.empty_like(np.zeros(shape))):
        stale += bool((out.ravel()[4:] == 0.25).all())  # (malloc may reuse the first bytes)
        nan += bool(np.isnan(out).all())
ints = np.empty(shape, dtype=int)
print(stale, nan, ints.dtype == np.int_ and np.empty(shape, dtype=object)[0, 0] is None)
"""


@pytest.mark.parametrize("n, k", [(7, 1), (40, 2), (100, 3), (300, 6)])
def test_uninitialised_memory_reads_as_nan_not_as_an_earlier_answer(n, k):
    """The untouched starter's ``np.empty((n, k))`` must not hand back a block that just held
    probabilities (numpy's block cache and malloc both return the last block freed), or it
    would pass as an answer on some inputs and not others. In a process of its own, since the
    worker's patch of numpy is not for the test process. The control shows the stale answer
    really is there without the patch."""

    def run(mode):
        args = [sys.executable, "-c", UNINITIALISED, str(n), str(k), mode]
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        stale, nan, others_untouched = done.stdout.split()
        return int(stale), int(nan), others_untouched

    assert run("patched") == (0, 100, "True")
    stale, nan, _ = run("control")
    assert stale > 0 and nan == 0


def test_the_parameter_names_are_the_labs_not_the_protocols():
    """The names are a fact of the lab (grader/cases.py); the wire protocol, which the
    worker carries, no longer spells them."""
    from grader.sandbox import protocol

    assert not hasattr(protocol, "PARAM_NAMES")
    assert PARAM_NAMES == ("priors", "mus", "variances")  # the handout's GMM1D attributes
    assert worker.parse_param_names(json.dumps(PARAM_NAMES)) == PARAM_NAMES


@pytest.mark.parametrize(
    "given",
    [
        "",
        "priors,mus,variances",  # not JSON
        '"priors"',  # a string, not a list
        "[]",
        '["priors", "priors"]',
        '["priors", 1]',
        '["priors", ["mus"]]',
        '["priors", "mus-2"]',
        '["priors", "class"]',  # a keyword
        '["__class__"]',  # private: setattr would replace the model's class
        '["X"]',  # an array of its own on the channel
        json.dumps(["p"] * 9),
        json.dumps([f"p{i}" for i in range(9)]),  # more than MAX_PARAMS
        json.dumps(["a" * 65]),  # longer than an array name may be
    ],
)
def test_the_worker_refuses_malformed_parameter_names_before_it_starts(given):
    with pytest.raises(ValueError, match="parameter names"):
        worker.parse_param_names(given)
    argv = ["-1", "-1", "gmm1d.py", "GMM1D", given, "1024", "{}"]
    with pytest.raises(ValueError, match="parameter names"):  # before confinement or import
        worker.main(argv)


def test_the_worker_reads_the_parameters_it_is_given():
    """The names come from the caller, not a constant of the worker: a worker given only
    "mus" reads and reports only that."""

    class Model:
        def __init__(self, k):
            self.num_gaussians = k
            self.priors, self.mus, self.variances = [1 / k] * k, [0.5] * k, [1.0] * k

    read_fd, write_fd = os.pipe()
    try:
        serving = worker.Worker(-1, write_fd, "/nowhere/gmm1d.py", "GMM1D", ("mus",), 1 << 20)
        serving.cls = Model
        header, arrays = serving.serve({"op": "construct", "k": 2, "id": 1}, {})
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert header["kind"] == "ok"
    assert header["values"]["param_types"] == {"mus": "list of 2"}
    assert set(arrays) == {"mus"}
