"""The checks: each feeds the submission inputs through the sandbox and judges what comes
back against the trusted reference (``solution/gmm1d.py``, loaded in this process).

A check is one function, declared with its metadata by :func:`check` (registry.py), in the
module of the step it tests; the modules are imported below in grading order, which gives
the checks their numbers. :func:`run` runs one check the way grading does: gates, then the
check, then whether its points may count yet.
"""

from grader import diagnosis
from grader.checks.context import Context, load_reference
from grader.checks.registry import REGISTRY, Check, Fail, Outcome, Pass, check, ids, number

# isort: off
# Imported for their @check declarations, in grading order (which numbers the checks).
from grader.checks import loads  # noqa: F401, E402
from grader.checks import estep  # noqa: F401, E402
from grader.checks import mstep  # noqa: F401, E402
from grader.checks import em  # noqa: F401, E402

# isort: on

__all__ = [
    "REGISTRY",
    "Check",
    "Context",
    "Fail",
    "Outcome",
    "Pass",
    "check",
    "ids",
    "load_reference",
    "not_written",
    "number",
    "run",
]


def not_written(methods) -> str:
    """'Your `estep` is not written yet', for one or both steps (Markdown)."""
    names = " and ".join(f"`{method}`" for method in methods)
    return f"Your {names} {'is' if len(methods) == 1 else 'are'} not written yet"


def run(check_id, ctx) -> Outcome:
    """Run one check; a Fail becomes a failed Outcome with its feedback and mistakes.

    A gate that failed stops every later check (their inputs would be meaningless), each
    saying so; a check with ``requires`` keeps its points until one of those checks passed.
    """
    spec = REGISTRY[check_id]
    done = ctx.cache.setdefault("outcomes", {})
    ctx.take_output()
    ctx.take_unwritten()
    for earlier in ids()[: number(check_id) - 1]:
        outcome = done.get(earlier)
        if REGISTRY[earlier].gate and outcome is not None and not outcome.passed:
            return Outcome(
                False,
                f"Not checked, because check {number(earlier)} (`{earlier}`) failed: "
                f"{outcome.feedback}",
            )
    try:
        passed = spec.run(ctx)
        if isinstance(passed, Pass):
            outcome = Outcome(True, passed.feedback, figure_data=passed.figure_data)
        else:
            outcome = Outcome(True, passed)
    except Fail as exc:
        outcome = Outcome(
            False,
            exc.feedback + diagnosis.describe(exc.mistakes),
            exc.mistakes,
            figure_data=exc.figure_data,
        )
    outcome.output = ctx.take_output()
    unwritten = ctx.take_unwritten()
    if unwritten and not outcome.passed:  # one line, not the same traceback in every check
        outcome.unwritten = unwritten
        outcome.figure_data = None  # nothing of theirs to draw
        they = "it raises" if len(unwritten) == 1 else "they raise"
        outcome.feedback = f"{not_written(unwritten)} ({they} `NotImplementedError`)."
    if (
        outcome.passed
        and spec.requires
        and not any(done.get(other, Outcome(False, "")).passed for other in spec.requires)
    ):
        numbers = " or ".join(str(number(other)) for other in spec.requires)
        outcome.passed = False
        outcome.feedback += (
            f"\n\n**Not awarded yet:** this check counts only once check {numbers} passes "
            f"({spec.requires_reason})."
        )
    done[check_id] = outcome
    return outcome
