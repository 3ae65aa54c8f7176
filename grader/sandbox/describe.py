"""Describing and converting the student's objects, inside the worker.

Defensive about student objects: ``type()`` rather than ``isinstance``/``__class__``, unbound
``np.ndarray`` descriptors rather than attributes a subclass could override, BaseException
caught around everything that can run student code. Nothing here is trusted by the grader
either: these only make the feedback of honest (possibly buggy) code accurate; the parent
validates every reply (grader/sandbox/schema.py).

Standard library, numpy and grader/text.py only: this file's source text is part of the
worker program (grader/sandbox/process.py).
"""

import os

import numpy as np

from grader.text import one_line

MAX_MESSAGE_CHARS = 300
MAX_TYPE_CHARS = 160


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
    """The value of an attribute the model does not have."""


MISSING = _Missing


def read_param(model, name):
    """(value or _Missing, error or None), never raising."""
    try:
        return getattr(model, name), None
    except AttributeError:
        return MISSING, f"GMM1D has no attribute {name}"
    except BaseException as exc:
        return MISSING, "reading it raised " + describe_exception(exc)


def collect_params(model, param_names, arrays, values):
    """Put the model's parameters ``param_names``, raveled float64, in ``arrays``; problems in
    values."""
    errors = {}
    for name in param_names:
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
