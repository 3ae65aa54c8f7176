"""The class's figures, shown both in the terminal summary and in report.html."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from grader.batch.records import CATEGORIES, Record, check_order

HISTOGRAM_BINS = 10


SLOWEST_SHOWN = 5


@dataclass
class CheckStats:
    check: str
    passed: int
    graded: int
    mean_score: float
    max_score: float

    @property
    def failed(self) -> int:
        return self.graded - self.passed

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass
class ClassStats:
    records: list[Record]
    graded: list[Record]
    errors: list[Record]
    max_total: float
    mean: float | None
    median: float | None
    histogram: list[tuple[float, float, int]]  # (low, high, count); the last bin includes high
    checks: list[CheckStats]
    mistakes: list[tuple[str, int]]  # (key, students), most common first
    slowest: list[Record]
    sandboxes: list[tuple[str, int]]  # (layers, submissions), most common first
    unconfined: list[Record]  # graded without a kernel layer (Landlock, seccomp)
    inputs: list[tuple[str, int]]  # (secret label, graded submissions), most common first
    # the same bins per category (CATEGORIES order), for the stacked histogram
    histogram_by: dict[str, list[int]] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)  # ids of results set aside (outputs.py)

    def who_made(self, mistake: str) -> list[Record]:
        """The graded submissions in which ``mistake`` was diagnosed."""
        return [r for r in self.graded if mistake in r.mistakes]

    @property
    def no_sandbox(self) -> list[Record]:
        return [r for r in self.records if not r.sandbox]

    @property
    def unconfined_reasons(self) -> list[str]:
        """Every distinct reason a layer was off, over all unconfined submissions."""
        return sorted({reason for r in self.unconfined for reason in r.sandbox_off})

    @property
    def most_failed(self) -> list[CheckStats]:
        """Up to three checks failed by the most submissions (none that nobody failed)."""
        failing = [c for c in self.checks if c.failed > 0]
        return sorted(failing, key=lambda c: -c.failed)[:3]  # stable: ties keep grading order


def histogram(totals: Sequence[float], max_total: float, bins: int = HISTOGRAM_BINS):
    """Counts of ``totals`` in ``bins`` equal bins over [0, max_total]; the last bin is closed."""
    top = max([max_total] + list(totals)) or 1.0
    width = top / bins
    counts = [0] * bins
    for total in totals:
        index = min(int(max(total, 0.0) / width), bins - 1)
        counts[index] += 1
    return [(i * width, (i + 1) * width, counts[i]) for i in range(bins)]


def class_stats(records: Sequence[Record], stale: Sequence[str] = ()) -> ClassStats:
    records = list(records)
    graded = [r for r in records if r.total is not None]
    errors = [r for r in records if r.total is None]
    totals = [r.total for r in graded]
    max_total = max((r.max_total for r in graded), default=0.0)
    checks = []
    for check in check_order(graded):
        results = [r.checks.get(check) for r in graded]
        maxima = [c.max_score for c in results if c is not None]
        checks.append(
            CheckStats(
                check=check,
                passed=sum(1 for c in results if c is not None and c.passed),
                graded=len(graded),
                mean_score=statistics.fmean([c.score if c is not None else 0.0 for c in results])
                if graded
                else 0.0,
                max_score=max(maxima, default=0.0),
            )
        )
    mistakes = _counted(key for record in graded for key in record.mistakes)
    timed = [r for r in records if r.seconds is not None]
    slowest = sorted(timed, key=lambda r: (-r.seconds, r.id))[:SLOWEST_SHOWN]
    return ClassStats(
        records=records,
        graded=graded,
        errors=errors,
        max_total=max_total,
        mean=statistics.fmean(totals) if totals else None,
        median=statistics.median(totals) if totals else None,
        histogram=histogram(totals, max_total),
        checks=checks,
        mistakes=mistakes,
        slowest=slowest,
        sandboxes=_counted(r.sandbox or "not recorded" for r in records),
        unconfined=[r for r in records if r.sandbox_off],
        inputs=_counted(r.inputs or "not recorded" for r in graded),
        histogram_by={
            category: [
                count
                for _, _, count in histogram(
                    [r.total for r in graded if r.category == category], max_total
                )
            ]
            for category in CATEGORIES
        },
        stale=list(stale),
    )


def _counted(items) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
