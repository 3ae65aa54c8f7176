"""The sandbox worker: runs in the child process, imports the submission, serves calls.

grader.sandbox starts it as ``python -I -B -u -c <program> REQUEST_FD REPLY_FD FILENAME
CLASS_NAME PARAM_NAMES MAX_REPLY_BYTES PLAN``, where the program carries the source text of
this file and the modules it imports (grader/sandbox/process.py: the worker cannot read the
grader's directory), PARAM_NAMES is the JSON list of the class's parameter attributes
(grader/cases.py: the lab's contract, which the worker cannot import; checked by
:func:`parse_param_names`) and PLAN is the confinement plan as JSON. So this module may import
only the standard library, numpy and those modules; it is also importable normally, for the
tests.

Sequence: import numpy (module level, before ``main``) -> confine itself
(grader/sandbox/confine.py) -> send ``ready`` with the confinement report -> make
``np.empty`` NaN-filled (``uninitialised_reads_as_nan``) -> import the submission once, as
module ``gmm1d`` from the copy in the working directory -> send ``loaded`` -> serve one
request at a time until the request pipe closes. If confinement fails, ``ready`` carries
the error instead and the submission is never imported.

Every call starts from a fresh ``GMM1D(k)`` with the parameters set in the student's own
style; ``em_run`` then alternates the student's estep and mstep on that one model, as its
own ``fit`` would. Before each piece of student code the worker sends a ``progress`` frame
naming the stage, so that on a timeout the parent knows which method hung.

Trust: none. Once the submission is imported it can replace anything here (this module,
numpy, json, os.write) or write its own frames to the reply fd, so the parent validates
every reply and treats this code only as a *convenience* that gives honest (possibly buggy)
submissions accurate feedback. Correspondingly the code below is defensive about student
objects (``type()`` rather than ``isinstance``/``__class__``, unbound ``np.ndarray``
descriptors rather than attributes a subclass could override, BaseException caught around
everything that can run student code) but not about its own environment.
"""

import functools
import importlib.util
import json
import keyword
import os
import random
import sys

import numpy as np

from grader.sandbox import confine, protocol
from grader.sandbox.describe import (
    MISSING,
    collect_array,
    collect_params,
    describe_exception,
    describe_value,
    raw_shape,
    read_param,
    styled,
    to_float_array,
    type_name,
)
from grader.text import one_line

MAX_CLASSES = 20
MAX_REQUEST_BYTES = 1 << 31  # requests come from the trusted parent
MAX_PARAMS = 8
# The other arrays a request or reply carries: a parameter of that name would be confused with them.
OTHER_ARRAYS = frozenset({"X", "gammas", "result", "X_after", "gammas_after"})


# --- the submission ----------------------------------------------------------------------


def load_submission(path, class_name):
    """Import ``path`` as module "gmm1d" (its ``__main__`` block does not run).

    Returns (cls, loaded_header): cls is None unless the module defines ``class_name``.
    """
    module_name = os.path.splitext(os.path.basename(path))[0]
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException as exc:
        return None, {"status": "import_error", "error": describe_exception(exc, path)}
    classes = []
    found = None
    try:
        for key, value in list(vars(module).items()):
            if type(key) is not str:
                continue
            if key == class_name:
                found = value
            if (
                issubclass(type(value), type)
                and type.__dict__["__module__"].__get__(value) == module_name
            ):
                classes.append(one_line(key, 80))
    except BaseException as exc:
        return None, {"status": "import_error", "error": describe_exception(exc, path)}
    classes = classes[:MAX_CLASSES]
    if found is None:
        return None, {"status": "no_class", "classes": classes}
    if not issubclass(type(found), type):
        return None, {
            "status": "not_a_class",
            "found_type": type_name(type(found)),
            "classes": classes,
        }
    return found, {"status": "ok", "classes": classes}


def _is_param_name(name):
    return (
        type(name) is str
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")  # public attributes only: no __class__ or __dict__
        and len(name) <= protocol.MAX_ARRAY_NAME_CHARS
        and name not in OTHER_ARRAYS
    )


def parse_param_names(text):
    """The parameter attribute names from their JSON argv form, as a tuple.

    They are used with getattr/setattr on the model and as array names on the channel, so
    anything but a list of 1 to MAX_PARAMS distinct public identifiers is a ValueError
    (raised before confinement or the submission: a bad list is the grader's bug)."""
    try:
        names = json.loads(text)
    except (TypeError, ValueError):
        names = None
    if (
        type(names) is not list
        or not 1 <= len(names) <= MAX_PARAMS
        or not all(_is_param_name(name) for name in names)
        or len(set(names)) != len(names)
    ):
        raise ValueError(
            f"the parameter names must be a JSON list of identifiers, not {text!r:.200}"
        )
    return tuple(names)


# --- serving -----------------------------------------------------------------------------


def uninitialised_reads_as_nan():
    """Make ``np.empty`` and ``np.empty_like`` fill floating arrays with NaN: in the worker
    only, before the submission is imported (so ``from numpy import empty`` gets them too).

    Uninitialised memory is whatever numpy's block cache or malloc last freed there: in a
    worker, often an earlier call's gammas, which is a valid answer. The untouched starter's
    ``np.empty((n, k))`` would then pass the shape check on some inputs and not on others.
    With NaN it fails in every worker and every call. Correct code pays one fill per array."""

    def nan_filled(make):
        @functools.wraps(make)
        def make_nan_filled(*args, **kwargs):
            out = make(*args, **kwargs)
            if isinstance(out, np.ndarray) and out.dtype.kind in "fc":
                out.fill(np.nan)
            return out

        return make_nan_filled

    np.empty, np.empty_like = nan_filled(np.empty), nan_filled(np.empty_like)


class Worker:
    def __init__(self, request_fd, reply_fd, path, class_name, param_names, max_reply_bytes):
        self.request_fd = request_fd
        self.reply_fd = reply_fd
        self.path = path
        self.class_name = class_name
        self.param_names = param_names  # parse_param_names's tuple
        self.max_reply_bytes = max_reply_bytes
        self.cls = None
        self.call_id = None

    def send(self, header, arrays=None):
        try:
            protocol.write_frame(self.reply_fd, header, arrays)
        except BaseException:
            os._exit(71)  # the channel is gone (closed by the submission?): nothing to do

    def progress(self, stage):
        self.send({"type": "progress", "id": self.call_id, "stage": stage})

    def serve(self, header, arrays):
        """Run one request; returns (reply header, reply arrays)."""
        op, k = header["op"], header["k"]
        self.call_id = header["id"]
        np.random.seed(0)  # the same "random" initialisation in every worker and call
        random.seed(0)
        X = arrays.get("X")
        X_copy = None if X is None else X.copy()
        gammas_copy = arrays["gammas"].copy() if "gammas" in arrays else None
        stage = "construct"
        values, out = {}, {}
        try:
            self.progress(stage)
            model = self.cls(k)
            if op != "construct":
                stage = "set_params"
                self.progress(stage)
                for name in self.param_names:
                    current, _ = read_param(model, name)
                    setattr(model, name, styled(current, arrays[name], k))
            if op == "estep":
                stage = "estep"
                self.progress(stage)
                result = model.estep(X_copy)
            if op == "mstep":
                stage = "mstep"
                self.progress(stage)
                returned = model.mstep(X_copy, gammas_copy)
        except BaseException as exc:
            error = describe_exception(exc, self.path)
            self.flush_output()
            return {"kind": "exception", "error": error, "values": {"stage": stage}}, {}

        if op == "construct":
            self.describe_model(model, values)
        if op == "estep":
            values["result_type"] = type_name(type(result))
            values["result_shape"] = raw_shape(result)
            collect_array("result", result, out, values)
        if op == "mstep":
            values["returned_type"] = type_name(type(returned))
            collect_array("gammas_after", gammas_copy, out, values)
        if op in ("estep", "mstep"):
            collect_array("X_after", X_copy, out, values)
        if op == "em_run":
            self.em_run(model, X_copy, k, int(header["iterations"]), values, out)
        else:
            collect_params(model, self.param_names, out, values)
        self.flush_output()
        self.fit_reply(out, values)
        return {"kind": "ok", "error": "", "values": values}, out

    def describe_model(self, model, values):
        num, _ = read_param(model, "num_gaussians")
        values["num_gaussians"] = None
        try:  # an int subclass may override __int__ and friends
            cls = type(num)
            if issubclass(cls, (int, np.integer)) and not issubclass(cls, (bool, np.bool_)):
                number = int(num)
                if type(number) is int and abs(number) < 2**62:
                    values["num_gaussians"] = number
        except BaseException:
            pass
        try:
            shown = "(missing)" if num is MISSING else one_line(repr(num), 100)
        except BaseException:
            shown = "(repr failed)"
        values["num_gaussians_repr"] = shown
        values["param_types"] = {
            name: "missing" if value is MISSING else describe_value(value)
            for name, value in ((n, read_param(model, n)[0]) for n in self.param_names)
        }

    def em_run(self, model, X, k, iterations, values, out):
        """EM as the student's own code runs it: one model, its estep's answer handed to its
        mstep, the parameters left exactly as its mstep stored them, ``iterations`` times.
        After each M-step the parameters are read back (any k-element layout) for the grader
        to judge; the run stops at the first exception or unreadable parameter."""
        layouts = {name: describe_value(read_param(model, name)[0]) for name in self.param_names}
        values["start_layouts"] = dict(layouts)
        trajectory = {name: [] for name in self.param_names}
        for iteration in range(1, iterations + 1):
            stage = "estep"
            try:
                self.progress(stage)
                gammas = model.estep(X)
                stage = "mstep"
                self.progress(stage)
                model.mstep(X, gammas)
            except BaseException as exc:
                error = describe_exception(exc, self.path)
                values["failure"] = {"iteration": iteration, "stage": stage, "error": error}
                break
            current = {name: read_param(model, name) for name in self.param_names}
            layouts = {name: describe_value(value) for name, (value, _) in current.items()}
            read = {}
            for name, (value, error) in current.items():
                array, error = (None, error) if error else to_float_array(value)
                if array is not None and array.size != k:
                    error = f"self.{name} holds {array.size} numbers, expected {k}"
                if error:
                    values["failure"] = {"iteration": iteration, "stage": "read", "error": error}
                    break
                read[name] = array.ravel()
            if len(read) < len(self.param_names):
                break
            for name in self.param_names:
                trajectory[name].append(read[name])
        values["layouts"] = layouts  # as the last M-step stored them (what failed saw)
        values["iterations_done"] = len(trajectory[self.param_names[0]])
        for name in self.param_names:
            out[name] = np.array(trajectory[name], dtype=float).reshape(-1, k)

    def fit_reply(self, arrays, values):
        """Drop the largest arrays until the reply fits the parent's size cap."""
        budget = self.max_reply_bytes - protocol.MAX_HEADER_BYTES - 4
        while arrays and sum(a.nbytes + 128 for a in arrays.values()) > budget:
            name = max(arrays, key=lambda n: arrays[n].nbytes)
            shape = arrays.pop(name).shape
            key = "param_errors" if name in self.param_names else "array_errors"
            values.setdefault(key, {})[name] = f"too large to send back (shape {shape})"

    @staticmethod
    def flush_output():
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except BaseException:
                pass

    def run(self, plan):
        try:
            report = confine.apply(plan)
        except BaseException as exc:  # no student code has run yet: this is ours to report
            self.send({"type": "ready", "error": f"{type(exc).__name__}: {exc}"[:1000]})
            return
        self.send({"type": "ready", "confinement": report})
        uninitialised_reads_as_nan()
        self.cls, loaded = load_submission(self.path, self.class_name)
        self.flush_output()
        loaded["type"] = "loaded"
        self.send(loaded)
        if self.cls is None:
            return
        while True:
            frame = protocol.read_frame(self.request_fd, MAX_REQUEST_BYTES)
            if frame is None:
                return
            header, arrays = frame
            reply, out = self.serve(header, arrays)
            reply.update(type="reply", id=header["id"])
            self.send(reply, out)


def main(argv):
    request_fd, reply_fd, filename, class_name, param_names, max_reply_bytes, plan = argv
    path = os.path.join(os.getcwd(), filename)
    names = parse_param_names(param_names)  # before anything runs: a bad one is our bug
    worker = Worker(int(request_fd), int(reply_fd), path, class_name, names, int(max_reply_bytes))
    worker.run(json.loads(plan))
