"""The neutral grading result: what one grading found, before any platform's format.

:func:`grader.grade.grade_submission` returns a :class:`GradingResult`; each platform's
format is one writer in ``grader/writers/`` (a pure function of it): Gradescope's
results.json (``writers/gradescope.py``), the table ``make grade`` prints
(``writers/terminal.py``). A new platform or a new figure is one module, never a change to
the checks. Every text here is Markdown of ours, already bounded (grader/report.py); every
figure is a PNG drawn on the grader's side from validated numbers (grader/figures.py), never
in the worker.
"""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Figure:
    png: bytes  # a PNG, drawn on the grader's side (grader/drawer.py) from validated numbers
    alt: str  # alt text: what the picture shows, in words
    caption: str = ""  # one line under it (may be empty)


@dataclass(frozen=True)
class CheckResult:
    check_id: str  # registry id, e.g. "em_monotone"
    number: int  # 1-based position in grading order
    title: str
    points: float  # awarded
    max_points: float
    passed: bool
    feedback: str  # Markdown: the check's feedback, then what the student's code printed
    figures: tuple[Figure, ...] = ()
    mistakes: tuple[str, ...] = ()  # mistake keys diagnosed (grader/diagnosis.py)
    visibility: str = "visible"
    internal_error: bool = False


@dataclass(frozen=True)
class GradingResult:
    checks: tuple[CheckResult, ...]
    score: float
    max_score: float
    summary: str  # Markdown shown first (note + score line)
    execution_time: float
    extra: dict  # the run's facts: submission, inputs label, sandbox, complete, grader_error...
    gradable: bool = True  # False only where nothing gradable was uploaded / our side failed
    visibility: str = "visible"  # Gradescope-wide: who sees the results (config [results])
    stdout_visibility: str = "hidden"  # who sees the grader's own log (config [results])

    def without_figures(self, why: str) -> "GradingResult":
        """The same result with every figure dropped, ``why`` added to the summary (a writer
        whose format has a size cap uses it when the pictures would not fit)."""
        checks = tuple(replace(check, figures=()) for check in self.checks)
        return replace(self, checks=checks, summary=f"{self.summary}\n\n{why}")

    @property
    def figure_count(self) -> int:
        return sum(len(check.figures) for check in self.checks)
