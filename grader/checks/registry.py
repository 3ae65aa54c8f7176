"""The check registry: every check declared once, next to its code, with its metadata on it.

    @check("my_check", "What a student reads as the test's name", points=5)
    def my_check(ctx): ...   # returns the feedback of a pass; raises Fail

Order and numbering come from the order of declaration (grader/checks/__init__.py imports
the modules in grading order); the default points and visibility are the lab's design, which
``grader/config.ini`` may override per check (grader/config.py validates it against this
registry); ``requires`` says which checks must pass first for this one's points to count, and
``gate`` marks a check without which no later check runs. Everything else reads the registry:
the grading run, the handout's grading table, ``python -m grader checks`` and the tests.
"""

from dataclasses import dataclass, field

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    points: float  # default; config.ini may override
    visibility: str  # default; config.ini may override
    run: object  # function(ctx) -> feedback of a pass; raises Fail
    requires: tuple = ()  # points count only once one of these checks has passed
    requires_reason: str = ""  # why, for the feedback of a pass whose points wait
    gate: bool = False  # when it fails, no later check runs (their inputs would be meaningless)
    proves: str = ""  # what passing shows, for the handout's table


REGISTRY: dict = {}  # id -> Check, in grading order


def check(
    check_id,
    title,
    *,
    points,
    visibility="visible",
    requires=(),
    requires_reason="",
    gate=False,
    proves="",
):
    """Register the decorated function as check ``check_id`` (see the module docstring)."""
    if visibility not in VISIBILITIES:
        raise ValueError(
            f"check {check_id}: visibility {visibility!r} is not one of {VISIBILITIES}"
        )

    if requires and not requires_reason:
        raise ValueError(f"check {check_id}: say why its points wait (requires_reason)")

    def register(func):
        if check_id in REGISTRY:
            raise ValueError(f"check {check_id} is declared twice")
        unknown = [other for other in requires if other not in REGISTRY]
        if unknown:  # a check can only wait for one that runs before it
            raise ValueError(f"check {check_id} requires {unknown}, not declared before it")
        REGISTRY[check_id] = Check(
            check_id,
            title,
            float(points),
            visibility,
            func,
            tuple(requires),
            requires_reason,
            gate,
            proves,
        )
        return func

    return register


def ids():
    """Every check id, in grading order."""
    return list(REGISTRY)


def number(check_id) -> int:
    """The check's number as students see it (1-based, in grading order)."""
    return ids().index(check_id) + 1


@dataclass
class Outcome:
    passed: bool
    feedback: str
    mistakes: list = field(default_factory=list)
    output: str = ""  # what the student's code printed during this check
    internal_error: bool = False
    figure_data: object = None  # numbers a figure is drawn from (grader/figure_data.py)
    unwritten: tuple = ()  # "estep"/"mstep" when the check failed on the starter's placeholder


@dataclass
class Pass:
    """What a check may return instead of its feedback alone: the feedback of a pass and
    the numbers its figure is drawn from."""

    feedback: str
    figure_data: object = None


class Fail(Exception):
    """Raised inside a check to fail it with feedback (and diagnosed mistakes, and the
    numbers a figure of the failure is drawn from)."""

    def __init__(self, feedback, mistakes=(), figure_data=None):
        super().__init__(feedback)
        self.feedback = feedback
        self.mistakes = list(dict.fromkeys(mistakes))
        self.figure_data = figure_data
