"""The sandbox worker: runs in the child process, imports the submission, serves calls.

grader.sandbox starts it as ``python -I -B -u -c <program> REQUEST_FD REPLY_FD FILENAME
CLASS_NAME MAX_REPLY_BYTES PLAN``, where the program carries the source text of this file
and the modules it imports (grader/sandbox/process.py: the worker cannot read the grader's
directory) and PLAN is the confinement plan as JSON. So this module may import only the
standard library, numpy and those modules; it is also importable normally, for the tests.

Sequence: import numpy (module level, before ``main``) -> confine itself
(grader/sandbox/confine.py) -> send ``ready`` with the confinement report -> import the
submission once, as module ``gmm1d`` from the copy in the working directory -> send
``loaded`` -> serve one request at a time until the request pipe closes. If confinement
fails, ``ready`` carries the error instead and the submission is never imported. Every call is
stateless: ``GMM1D(k)``, set the parameters in the student's own style, call the method,
reply. Before each piece of student code the worker sends a ``progress`` frame naming the
stage, so that on a timeout the parent knows which method hung.

Trust: none. Once the submission is imported it can replace anything here (this module,
numpy, json, os.write) or write its own frames to the reply fd, so the parent validates
every reply and treats this code only as a *convenience* that gives honest (possibly buggy)
submissions accurate feedback. Correspondingly the code below is defensive about student
objects (``type()`` rather than ``isinstance``/``__class__``, unbound ``np.ndarray``
descriptors rather than attributes a subclass could override, BaseException caught around
everything that can run student code) but not about its own environment.
"""

import importlib.util
import json
import os
import random
import sys

import numpy as np

from grader.sandbox import confine, protocol
from grader.sandbox.protocol import PARAM_NAMES
from grader.text import one_line

MAX_MESSAGE_CHARS = 300
MAX_TYPE_CHARS = 160
MAX_CLASSES = 20
MAX_REQUEST_BYTES = 1 << 31  # requests come from the trusted parent


# --- describing student objects ----------------------------------------------------------


def type_name(cls):
    """'numpy.ndarray', 'list', 'NoneType', 'gmm1d.Foo', 'subclass of numpy.ndarray (m.N)'."""
    try:
        module = type.__dict__["__module__"].__get__(cls)
        name = type.__dict__["__qualname__"].__get__(cls)
        name = name if module == "builtins" else f"{module}.{name}"
        if issubclass(cls, np.ndarray) and cls is not np.ndarray:
            name = f"subclass of numpy.ndarray ({name})"
        return one_line(name, MAX_TYPE_CHARS)
    except BaseException:
        return "(unknown type)"


def describe_value(value):
    """'ndarray (3, 1)', 'list of 3', 'tuple of 3', or the type name."""
    cls = type(value)
    try:
        if issubclass(cls, np.ndarray):
            shape = tuple(np.ndarray.shape.__get__(value))
            prefix = "ndarray" if cls is np.ndarray else type_name(cls)
            return f"{prefix} {shape}"
        if issubclass(cls, list):
            return f"list of {list.__len__(value)}"
        if issubclass(cls, tuple):
            return f"tuple of {tuple.__len__(value)}"
    except BaseException:
        pass
    return type_name(cls)


def raw_shape(value):
    """np.shape of a result that has one (arrays, lists, tuples, numbers), else None."""
    cls = type(value)
    try:
        if issubclass(cls, np.ndarray):
            return [int(d) for d in np.ndarray.shape.__get__(value)]
        if issubclass(cls, (list, tuple)):
            return [int(d) for d in np.shape(value)]
        if issubclass(cls, (int, float, np.number, np.bool_)):
            return []
    except BaseException:
        pass
    return None


def to_float_array(value):
    """(float64 ndarray, None) or (None, why not): ``np.array(value, float)`` done carefully.

    None, strings, bytes and dicts are refused rather than converted (numpy would turn None
    into nan and "1.5" into 1.5); complex arrays are refused rather than silently losing
    their imaginary part; an ndarray subclass is read through the base class so its own
    ``__array__``/``view`` overrides are not consulted.
    """
    cls = type(value)
    if value is None or issubclass(cls, (str, bytes, dict)):
        return None, f"it is {type_name(cls)}, not an array"
    try:
        if issubclass(cls, np.ndarray):
            value = np.ndarray.view(value, np.ndarray)
            if value.dtype.kind == "c":
                return None, "it holds complex numbers"
        array = np.array(value, dtype=np.float64)
        if type(array) is not np.ndarray:
            array = np.ndarray.view(array, np.ndarray)
        return array, None
    except BaseException as exc:
        return None, "it could not be converted to a float array (" + describe_exception(exc) + ")"


def describe_exception(exc, filename=None):
    """'ValueError: X must be 2-D (gmm1d.py, line 42, in estep)'.

    The location is the deepest traceback frame in ``filename`` (the submission), so an
    error raised inside numpy on the student's behalf points at the student's line.
    SyntaxError already names its file and line in its message.
    """
    try:
        name = type(exc).__name__
    except BaseException:
        name = "Exception"
    try:
        message = str(exc)
    except BaseException:
        message = "(the exception's message could not be shown)"
    text = f"{name}: {one_line(message, 220)}" if message else name
    if filename and not isinstance(exc, SyntaxError):
        location = None
        try:
            tb = exc.__traceback__
            while tb is not None:
                code = tb.tb_frame.f_code
                if code.co_filename == filename:
                    base = os.path.basename(filename)
                    location = f"{base}, line {tb.tb_lineno}, in {code.co_name}"
                tb = tb.tb_next
        except BaseException:
            pass
        if location:
            text += f" ({location})"
    return one_line(text, MAX_MESSAGE_CHARS)


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


def styled(current, values, k):
    """``values`` ((k,) float64) in the style the constructor used for ``current``.

    list -> list of floats, keeping a (k, 1) or (1, k) nesting ([[p1], [p2]] from
    ``.tolist()`` of a column); tuple -> the same with tuples; ndarray with k elements ->
    same shape; anything else -> a (k, 1) column.
    """
    cls = type(current)
    for kind in (list, tuple):
        if issubclass(cls, kind):
            return kind(_nested_like(current, [float(v) for v in values], kind))
    if issubclass(cls, np.ndarray) and np.ndarray.size.__get__(current) == k:
        return np.array(values, dtype=float).reshape(tuple(np.ndarray.shape.__get__(current)))
    return np.array(values, dtype=float).reshape(k, 1)


def _nested_like(current, flat, kind):
    """``flat`` as a column [[a], [b], ...] or a row [[a, b, ...]] when ``current`` (a list or
    tuple) is nested that way; else ``flat``. Plain ``type`` checks: no student code runs."""
    k = len(flat)
    try:
        items = list(kind.__iter__(current))
        inner = [type(item) in (list, tuple) for item in items]
        if len(items) == k and all(inner) and all(len(item) == 1 for item in items):
            return [type(item)([v]) for item, v in zip(items, flat)]
        if len(items) == 1 and inner[0] and len(items[0]) == k and k != 1:
            return [type(items[0])(flat)]
    except BaseException:
        pass
    return flat


class _Missing:
    pass


def read_param(model, name):
    """(value or _Missing, error or None), never raising."""
    try:
        return getattr(model, name), None
    except AttributeError:
        return _Missing, f"GMM1D has no attribute {name}"
    except BaseException as exc:
        return _Missing, "reading it raised " + describe_exception(exc)


def collect_params(model, arrays, values):
    """Put the model's parameters, raveled float64, in ``arrays``; problems in values."""
    errors = {}
    for name in PARAM_NAMES:
        value, error = read_param(model, name)
        if error is None:
            array, error = to_float_array(value)
            if array is not None:
                arrays[name] = array.ravel()
        if error is not None:
            errors[name] = one_line(error, MAX_MESSAGE_CHARS)
    if errors:
        values["param_errors"] = errors


def collect_array(name, value, arrays, values):
    array, error = to_float_array(value)
    if array is not None:
        arrays[name] = array
    else:
        values.setdefault("array_errors", {})[name] = one_line(error, MAX_MESSAGE_CHARS)


# --- serving -----------------------------------------------------------------------------


class Worker:
    def __init__(self, request_fd, reply_fd, path, class_name, max_reply_bytes):
        self.request_fd = request_fd
        self.reply_fd = reply_fd
        self.path = path
        self.class_name = class_name
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
        result = None
        try:
            self.progress(stage)
            model = self.cls(k)
            if op != "construct":
                stage = "set_params"
                self.progress(stage)
                for name in PARAM_NAMES:
                    current, _ = read_param(model, name)
                    setattr(model, name, styled(current, arrays[name], k))
            if op in ("estep", "em_step"):
                stage = "estep"
                self.progress(stage)
                result = model.estep(X_copy)
            if op in ("mstep", "em_step"):
                stage = "mstep"
                self.progress(stage)
                gammas_arg = gammas_copy if op == "mstep" else result
                returned = model.mstep(X_copy, gammas_arg)
        except BaseException as exc:
            error = describe_exception(exc, self.path)
            self.flush_output()
            return {"kind": "exception", "error": error, "values": {"stage": stage}}, {}

        values, out = {}, {}
        if op == "construct":
            num, _ = read_param(model, "num_gaussians")
            values["num_gaussians"] = None
            try:  # an int subclass may override __int__ and friends
                if issubclass(type(num), (int, np.integer)) and not issubclass(
                    type(num), (bool, np.bool_)
                ):
                    number = int(num)
                    if type(number) is int and abs(number) < 2**62:
                        values["num_gaussians"] = number
            except BaseException:
                pass
            try:
                values["num_gaussians_repr"] = (
                    "(missing)" if num is _Missing else one_line(repr(num), 100)
                )
            except BaseException:
                values["num_gaussians_repr"] = "(repr failed)"
            values["param_types"] = {
                name: "missing" if value is _Missing else describe_value(value)
                for name, value in ((n, read_param(model, n)[0]) for n in PARAM_NAMES)
            }
        if op in ("estep", "em_step"):
            values["result_type"] = type_name(type(result))
            values["result_shape"] = raw_shape(result)
            collect_array("result" if op == "estep" else "gammas", result, out, values)
        if op == "mstep":
            values["returned_type"] = type_name(type(returned))
            collect_array("gammas_after", gammas_copy, out, values)
        if op in ("estep", "mstep"):
            collect_array("X_after", X_copy, out, values)
        collect_params(model, out, values)
        self.flush_output()
        self.fit_reply(out, values)
        return {"kind": "ok", "error": "", "values": values}, out

    def fit_reply(self, arrays, values):
        """Drop the largest arrays until the reply fits the parent's size cap."""
        budget = self.max_reply_bytes - protocol.MAX_HEADER_BYTES - 4
        while arrays and sum(a.nbytes + 128 for a in arrays.values()) > budget:
            name = max(arrays, key=lambda n: arrays[n].nbytes)
            shape = arrays.pop(name).shape
            key = "param_errors" if name in PARAM_NAMES else "array_errors"
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
    request_fd, reply_fd, filename, class_name, max_reply_bytes, plan = argv
    path = os.path.join(os.getcwd(), filename)
    worker = Worker(int(request_fd), int(reply_fd), path, class_name, int(max_reply_bytes))
    worker.run(json.loads(plan))
