"""The numbers a figure is drawn from, as a check hands them out in its Outcome.

A check that can show its finding in a picture attaches one of these to its outcome (the
``figure_data`` of :class:`grader.checks.registry.Outcome`); grader/figures.py draws them all
in one place, after the checks, on the grader's side (grader/drawer.py). They hold plain
float arrays: the inputs the grader made, the reference's answers, and what the sandbox
returned, already validated there as float arrays of a known shape
(grader/sandbox/schema.py). Those may still be NaN, infinite or huge; drawing copes.
Nothing here imports matplotlib.
"""

from dataclasses import dataclass

import numpy as np

from grader.cases import Params


def floats(values) -> np.ndarray:
    """A float copy of ``values`` (the figure never shares memory with a check)."""
    return np.array(values, dtype=float)


@dataclass(frozen=True)
class EmFit:
    """Full EM on one case: the fits after ``iteration`` and both log-likelihood curves.

    ``lls`` and ``ref_lls`` start with the log-likelihood at the common start (index 0), then
    one value per iteration; ``marked`` is the iteration the feedback points at (None on a
    pass), ``why`` says what happened there ("fell", "parted", "not finite", "stopped")."""

    case: str
    x: np.ndarray  # (n,)
    mine: Params  # the student's parameters after ``iteration`` (may be non-finite)
    reference: Params  # the reference's after ``iteration``
    iteration: int
    lls: np.ndarray
    ref_lls: np.ndarray
    marked: int | None = None
    why: str = ""


@dataclass(frozen=True)
class EstepValues:
    """The E-step on one case: the student's responsibilities against the reference's."""

    case: str
    x: np.ndarray  # (n,)
    got: np.ndarray  # (n, k), the student's
    expected: np.ndarray  # (n, k), the reference's
    row: int  # the row the feedback shows


@dataclass(frozen=True)
class MstepValues:
    """The M-step on one case: the student's parameters against the reference's, per
    cluster; ``focus`` is the parameter the check judges."""

    case: str
    mine: dict  # parameter name -> (k,) array, or None where it could not be read as k numbers
    reference: Params
    focus: str
