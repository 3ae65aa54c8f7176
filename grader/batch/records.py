"""Per-submission records: one results.json reduced to what the class view needs
(:class:`Record`); the class's figures are in grader/batch/stats.py.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from grader.strictjson import finite

# What a graded record is, for the histogram (the order in which the page stacks them).
CATEGORIES = ("graded", "unchanged stub", "did not load", "nothing uploaded")

NO_FILE_WHY = "no gmm1d.py in the upload"


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
    uploaded: bool = True  # False when the upload held no file to grade
    versions: dict[str, str] = field(default_factory=dict)  # extra_data.versions, if any
    stub: bool = False  # the upload is the stub with only comments or layout changed (set later)

    @property
    def category(self) -> str:
        """One of CATEGORIES, for a graded record."""
        if not self.uploaded:
            return "nothing uploaded"
        if self.stub:
            return "unchanged stub"
        loads = self.checks.get("loads")
        return "did not load" if loads is not None and not loads.passed else "graded"

    @property
    def no_sandbox_why(self) -> str:
        """Why no sandbox is recorded for it ("" when one is)."""
        if self.sandbox:
            return ""
        if not self.uploaded:
            return NO_FILE_WHY
        return self.error or "its results do not record one"

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
        record.uploaded = not ("submission" in extra and extra["submission"] is None)
        versions = extra.get("versions") if isinstance(extra.get("versions"), dict) else {}
        record.versions = {str(k): str(v) for k, v in versions.items() if isinstance(v, str)}
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
