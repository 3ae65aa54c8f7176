"""Per-submission records and the class statistics: one results.json reduced to what
the class view needs (:class:`Record`), and the figures shown both in the terminal summary
and in report.html (:func:`class_stats`).
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from grader.strictjson import finite

HISTOGRAM_BINS = 10


SLOWEST_SHOWN = 5


def format_number(value) -> str:
    """A score as a person writes it: 7.5, 10, 0.3 (not 0.30000000000000004), never "-0"."""
    if value is None:
        return ""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def grader_problem(results: dict) -> str:
    """Why ``results`` (a validated results.json) is not a grade, or "" when it is one.

    Not a grade: the batch's own failure record (``batch_error``); the grader's placeholder,
    left when grading was cut short (``complete: false``); a sandbox failure on our side
    (``grader_error``); or a check that hit an internal error (a test's ``grader_error``).
    Such a submission gets no total, so a bug of ours never becomes a student's zero.
    """
    extra = results.get("extra_data") if isinstance(results.get("extra_data"), dict) else {}
    if extra.get("batch_error"):
        return str(extra["batch_error"])
    if extra.get("grader_error"):
        return f"the grader's sandbox failed: {extra['grader_error']}"
    if extra.get("complete") is False:
        return "grading did not finish (the results file is the grader's placeholder)"
    broken = [
        str(t.get("name", "?"))
        for t in results.get("tests", [])
        if isinstance(t.get("extra_data"), dict) and t["extra_data"].get("grader_error")
    ]
    if broken:
        return f"internal grader error in: {', '.join(broken)}"
    return ""


@dataclass(frozen=True)
class CheckResult:
    score: float
    max_score: float
    passed: bool
    mistakes: tuple[str, ...] = ()


@dataclass
class Record:
    """One submission.

    ``total`` is None when the grader failed on our side (``error`` says how); such a record
    is listed, never counted as a score. ``checks`` maps check id -> result, in grading order.
    """

    id: str
    names: tuple[str, ...] = ()
    sids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    total: float | None = None
    max_total: float = 0.0
    seconds: float | None = None
    checks: dict[str, CheckResult] = field(default_factory=dict)
    error: str = ""
    sandbox: str = ""  # the layers its worker ran under (extra_data.sandbox.layers)
    sandbox_off: tuple[str, ...] = ()  # kernel layers that were not in force, and why
    inputs: str = ""  # which secret keyed its generated inputs (extra_data.inputs)

    @classmethod
    def from_results(cls, sub_id, results: dict, names=(), sids=(), emails=()) -> "Record":
        """Build from a results.json that already passed validation (see grader.batch)."""
        record = cls(sub_id, tuple(names), tuple(sids), tuple(emails))
        record.seconds = finite(results.get("execution_time"))
        extra = results.get("extra_data") if isinstance(results.get("extra_data"), dict) else {}
        sandbox = extra.get("sandbox") if isinstance(extra.get("sandbox"), dict) else {}
        if isinstance(sandbox.get("layers"), str):
            record.sandbox = sandbox["layers"]
        if isinstance(sandbox.get("off"), list):
            off = [o for o in sandbox["off"] if isinstance(o, str)]
            record.sandbox_off = tuple(o for o in off if not o.startswith("separate uid"))
        if isinstance(extra.get("inputs"), str):
            record.inputs = extra["inputs"]
        record.error = grader_problem(results)
        if record.error:
            return record
        for test in results.get("tests", []):
            test_extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
            check = test_extra.get("check") if isinstance(test_extra.get("check"), str) else None
            check = check or str(test.get("name", f"test {len(record.checks) + 1}"))
            score = finite(test.get("score")) or 0.0
            max_score = finite(test.get("max_score")) or 0.0
            status = test.get("status")
            passed = status == "passed" if status in ("passed", "failed") else score >= max_score
            raw_mistakes = test_extra.get("mistakes")
            mistakes = (
                tuple(m for m in raw_mistakes if isinstance(m, str))
                if isinstance(raw_mistakes, list)
                else ()
            )
            record.checks[check] = CheckResult(score, max_score, passed, mistakes)
        record.max_total = sum(c.max_score for c in record.checks.values())
        total = finite(results.get("score"))
        record.total = total if total is not None else sum(c.score for c in record.checks.values())
        return record

    @property
    def mistakes(self) -> tuple[str, ...]:
        """Distinct mistake keys diagnosed anywhere in this submission."""
        seen = []
        for check in self.checks.values():
            seen.extend(m for m in check.mistakes if m not in seen)
        return tuple(seen)


def check_order(records: Sequence[Record]) -> list[str]:
    """Every check id seen, in grading order (first appearance)."""
    order: list[str] = []
    for record in records:
        for check in record.checks:
            if check not in order:
                order.append(check)
    return order


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


def class_stats(records: Sequence[Record]) -> ClassStats:
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
    )


def _counted(items) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
