"""The reply schema: what the grader accepts back from the worker, checked field by field.

Everything a worker sends is hostile once the submission is imported (it can rewrite the
worker or write its own bytes to the reply pipe), so a reply is turned into a
:class:`Reply` only after every header field has been type-checked against the schema of
the call that was made, every string cut to one short line without paths, and every array
name checked against what that call may return. Frames themselves (sizes, strict JSON,
plain numeric arrays) are checked one layer down, in grader/sandbox/protocol.py.
"""

import re
from dataclasses import dataclass, field

from grader import paths
from grader.cases import PARAM_NAMES
from grader.sandbox.protocol import ProtocolError, TooLarge
from grader.text import one_line

OPS = ("construct", "estep", "mstep", "em_run")
# The stages a call goes through, in order (the worker announces each one before running it).
STAGES_OF_OP = {
    "construct": ("construct",),
    "estep": ("construct", "set_params", "estep"),
    "mstep": ("construct", "set_params", "mstep"),
    "em_run": ("construct", "set_params", "estep", "mstep"),
}


class SandboxError(Exception):
    """The sandbox itself could not work (our side, not the student's): e.g. the worker
    interpreter cannot start or cannot confine itself. The grader turns this into an
    'error on our side' result, never into a student's zero."""


@dataclass
class Reply:
    kind: str  # "ok" | "exception" | "timeout" | "crash" | "load_error" | "skipped" | "protocol"
    error: str  # "" when ok; else one short student-facing line, free of grader paths
    output: str = ""  # stdout+stderr printed during this call, truncated to the output limit
    elapsed: float = 0.0  # wall seconds of the call
    values: dict = field(default_factory=dict)  # small validated scalars/strings (op-specific)
    arrays: dict = field(default_factory=dict)  # name -> plain float64 ndarray

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def _str(value):
    if type(value) is not str:
        raise ProtocolError("expected a string")
    return one_line(value)


def _int_or_none(value):
    if value is None:
        return None
    if type(value) is not int or abs(value) >= 2**62:
        raise ProtocolError("expected an int")
    return value


def _shape_or_none(value):
    if value is None:
        return None
    if type(value) is not list or len(value) > 32:
        raise ProtocolError("expected a shape")
    for dim in value:
        if type(dim) is not int or not 0 <= dim < 2**62:
            raise ProtocolError("expected a shape")
    return list(value)


def _str_dict(allowed, required=False):
    def check(value):
        if type(value) is not dict or not set(value) <= set(allowed):
            raise ProtocolError("unexpected keys")
        if required and set(value) != set(allowed):
            raise ProtocolError("missing keys")
        return {key: _str(item) for key, item in value.items()}

    return check


def _failure(value):
    """em_run's {"iteration": int, "stage": estep|mstep|read, "error": str}."""
    if type(value) is not dict or set(value) != {"iteration", "stage", "error"}:
        raise ProtocolError("bad failure")
    if type(value["iteration"]) is not int or not 0 < value["iteration"] < 10**6:
        raise ProtocolError("bad failure iteration")
    if value["stage"] not in ("estep", "mstep", "read"):
        raise ProtocolError("bad failure stage")
    return {"iteration": value["iteration"], "stage": value["stage"], "error": _str(value["error"])}


# Per operation: value key -> (validator, required). Arrays: allowed names.
_PARAM_ERRORS = (_str_dict(PARAM_NAMES), False)
_VALUE_SCHEMAS = {
    "construct": {
        "num_gaussians": (_int_or_none, True),
        "num_gaussians_repr": (_str, True),
        "param_types": (_str_dict(PARAM_NAMES, required=True), True),
        "param_errors": _PARAM_ERRORS,
    },
    "estep": {
        "result_type": (_str, True),
        "result_shape": (_shape_or_none, True),
        "param_errors": _PARAM_ERRORS,
        "array_errors": (_str_dict(("result", "X_after")), False),
    },
    "mstep": {
        "returned_type": (_str, True),
        "param_errors": _PARAM_ERRORS,
        "array_errors": (_str_dict(("X_after", "gammas_after")), False),
    },
    "em_run": {
        "iterations_done": (_int_or_none, True),
        "start_layouts": (_str_dict(PARAM_NAMES, required=True), True),
        "layouts": (_str_dict(PARAM_NAMES, required=True), True),
        "failure": (_failure, False),
    },
}
_ARRAY_NAMES = {
    "construct": set(PARAM_NAMES),
    "estep": {"result", "X_after", *PARAM_NAMES},
    "mstep": {"X_after", "gammas_after", *PARAM_NAMES},
    "em_run": set(PARAM_NAMES),
}


def _check_values(op, values):
    """The ``values`` of an "ok" reply to ``op``, checked key by key; raises ProtocolError."""
    if type(values) is not dict:
        raise ProtocolError("values is not an object")
    schema = _VALUE_SCHEMAS[op]
    unknown = set(values) - set(schema)
    if unknown:
        raise ProtocolError("unexpected value keys")
    checked = {}
    for key, (validate, required) in schema.items():
        if key in values:
            checked[key] = validate(values[key])
        elif required:
            raise ProtocolError(f"missing value {key}")
    return checked


def check_reply(op, call_id, header, arrays):
    """(kind, error, values, arrays) of a "reply" frame, validated; raises ProtocolError."""
    if (
        header.get("type") != "reply"
        or type(header.get("id")) is not int
        or header["id"] != call_id
    ):
        raise ProtocolError("reply to another request")
    kind = header.get("kind")
    error = header.get("error")
    if type(error) is not str:
        raise ProtocolError("error is not a string")
    if kind == "exception":
        values = header.get("values")
        if arrays or type(values) is not dict or set(values) != {"stage"}:
            raise ProtocolError("bad exception reply")
        if values["stage"] not in STAGES_OF_OP[op]:
            raise ProtocolError("bad stage")
        return kind, one_line(error) or "an exception was raised", {"stage": values["stage"]}, {}
    if kind != "ok":
        raise ProtocolError("bad reply kind")
    values = _check_values(op, header.get("values"))
    if not set(arrays) <= _ARRAY_NAMES[op]:
        raise ProtocolError("unexpected array")
    for name, array in list(arrays.items()):
        if isinstance(array, TooLarge):
            del arrays[name]
            key = "param_errors" if name in PARAM_NAMES else "array_errors"
            values.setdefault(key, {})[name] = f"too large to check: shape {array.shape}"
    for name in PARAM_NAMES:
        if name in arrays and arrays[name].ndim != (2 if op == "em_run" else 1):
            raise ProtocolError("parameters must come back raveled (em_run: one row a step)")
    return "ok", "", values, arrays


_MISSING_MODULE = re.compile(r"^ModuleNotFoundError: No module named '([A-Za-z0-9_.]{1,80})'")


def _missing_module_advice(error):
    """What to do about an import the grader cannot satisfy ("" for other errors)."""
    found = _MISSING_MODULE.match(error)
    if not found:
        return ""
    provided = ", ".join(paths.PROVIDED_PACKAGES)
    return (
        f". The grader provides Python's standard library and {provided} only: remove "
        f"the import of {found.group(1)} (and the code that needs it)"
    )


def loaded_message(header):
    """None if the "loaded" frame says the import worked, else the load_error text."""
    name, cls = paths.SUBMISSION_FILENAME, paths.CLASS_NAME
    status = header.get("type") == "loaded" and header.get("status")
    classes = header.get("classes", [])
    if type(classes) is not list or not all(type(c) is str for c in classes):
        raise ProtocolError("bad class list")
    found = ", ".join(one_line(c, 60) for c in classes[:20]) or "none"
    if status == "ok":
        return None
    if status == "import_error" and type(header.get("error")) is str:
        error = one_line(header["error"])
        return f"importing {name} failed: {error}{_missing_module_advice(error)}"
    if status == "no_class":
        if paths.HINT_CLASS_NAME in classes:
            return (
                f"this is the course's two-cluster hint ({paths.HINT_FILENAME}, class "
                f"{paths.HINT_CLASS_NAME}), not your lab: upload your finished {name}"
            )
        return f"{name} defines no class {cls} (classes found: {found})"
    if status == "not_a_class" and type(header.get("found_type")) is str:
        found_type = one_line(header["found_type"], 80)
        return f"{name} defines {cls}, but it is a {found_type}, not a class"
    raise ProtocolError("bad loaded frame")
