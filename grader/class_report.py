"""Where the class struggled: per-submission records, class statistics and ``report.html``.

:class:`Record` is one submission's results.json reduced to what the class view needs;
:func:`class_stats` turns the records into the figures (score histogram, pass rate of each
check, diagnosed mistakes, slowest submissions) shown both in the terminal summary and in
the report; :func:`render_report` writes them as one self-contained HTML page.

The page loads nothing: inline CSS, inline SVG, no script, no external URL, so it opens
offline and from a mail attachment. Every string that comes from a submission or from the
export's metadata (names, ids, grader output) is HTML-escaped before it is written. The
figures are also written as ``data-*`` attributes so a test (or a script) can read them back
from the rendered page.
"""

import html
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

HISTOGRAM_BINS = 10
SLOWEST_SHOWN = 5


def format_number(value) -> str:
    """A score as a person writes it: 7.5, 10, 0.3 (not 0.30000000000000004), never "-0"."""
    if value is None:
        return ""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _number(value) -> float | None:
    """``value`` as a finite float, or None (bools, strings, NaN and infinities are not scores)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


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

    @classmethod
    def from_results(cls, sub_id, results: dict, names=(), sids=(), emails=()) -> "Record":
        """Build from a results.json that already passed validation (see grader.batch)."""
        record = cls(sub_id, tuple(names), tuple(sids), tuple(emails))
        record.seconds = _number(results.get("execution_time"))
        extra = results.get("extra_data") if isinstance(results.get("extra_data"), dict) else {}
        sandbox = extra.get("sandbox") if isinstance(extra.get("sandbox"), dict) else {}
        if isinstance(sandbox.get("layers"), str):
            record.sandbox = sandbox["layers"]
        if isinstance(sandbox.get("off"), list):
            off = [o for o in sandbox["off"] if isinstance(o, str)]
            record.sandbox_off = tuple(o for o in off if not o.startswith("separate uid"))
        record.error = grader_problem(results)
        if record.error:
            return record
        for test in results.get("tests", []):
            test_extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
            check = test_extra.get("check") if isinstance(test_extra.get("check"), str) else None
            check = check or str(test.get("name", f"test {len(record.checks) + 1}"))
            score = _number(test.get("score")) or 0.0
            max_score = _number(test.get("max_score")) or 0.0
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
        total = _number(results.get("score"))
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
    )


def _counted(items) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# ---------------------------------------------------------------------------------------------
# report.html


def _mistake_descriptions() -> dict[str, str]:
    try:
        from grader.diagnosis import MISTAKES  # optional: the report falls back to the keys
    except ImportError:
        return {}
    return dict(MISTAKES) if isinstance(MISTAKES, dict) else {}


def _e(value) -> str:
    return html.escape(str(value), quote=True)


_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1080px;
  padding:0 1.2em;color:#1d2330;background:#fff}
h1{font-size:1.6em;margin:.2em 0}
h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #dde}
.summary{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.stat{border:1px solid #dde;border-radius:6px;padding:.5em 1em;min-width:7em}
.stat dt{font-size:.8em;color:#556;text-transform:uppercase;letter-spacing:.04em}
.stat dd{margin:0;font-size:1.5em;font-weight:600}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #eef}
th{font-size:.85em;color:#556}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bar{background:#e8ecf5;border-radius:3px;height:.9em;width:100%;min-width:8em}
.bar span{display:block;height:100%;background:#3b6fd8;border-radius:3px}
.bar.low span{background:#d8613b}
.warn{background:#fff4e5;border:1px solid #f0c080;border-radius:6px;padding:.6em 1em}
svg text{font:12px system-ui,sans-serif;fill:#334}
.muted{color:#667}
"""


def _histogram_svg(stats: ClassStats) -> str:
    width, height, left, bottom, top = 720, 240, 40, 40, 16
    bins = stats.histogram
    biggest = max((count for _, _, count in bins), default=0) or 1
    bar_w = (width - left - 10) / len(bins)
    plot_h = height - bottom - top
    parts = [
        '<svg id="histogram" role="img" aria-label="Score histogram" '
        f'width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
    ]
    parts.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        'stroke="#889"/>'
    )
    for i, (low, high, count) in enumerate(bins):
        h = plot_h * count / biggest
        x = left + i * bar_w
        y = height - bottom - h
        label = f"{format_number(low)}–{format_number(high)}"
        parts.append(
            f'<rect class="bin" data-low="{format_number(low)}" data-high="{format_number(high)}" '
            f'data-count="{count}" x="{x + 2:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" '
            f'height="{h:.1f}" fill="#3b6fd8">'
            f"<title>{_e(label)}: {count}</title></rect>"
        )
        if count:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{count}</text>'
            )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 15}" text-anchor="middle">'
            f"{_e(label)}</text>"
        )
    parts.append(
        f'<text x="{left + (width - left) / 2:.1f}" y="{height - 6}" text-anchor="middle">score '
        f"(of {_e(format_number(stats.max_total))})</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _names(record: Record) -> str:
    return "; ".join(n for n in record.names if n) or "—"


def render_report(stats: ClassStats, title: str = "Class regrade") -> str:
    """The whole page as a string (UTF-8 when written)."""
    descriptions = _mistake_descriptions()
    out = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # no network even if a future edit slips in a URL: the page may only use itself
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]

    mean = format_number(stats.mean) if stats.mean is not None else ""
    median = format_number(stats.median) if stats.median is not None else ""
    out.append('<dl class="summary">')
    for key, label, value, shown in (
        ("count", "graded", len(stats.graded), str(len(stats.graded))),
        ("mean", "mean score", mean, f"{stats.mean:.2f}" if stats.mean is not None else "—"),
        (
            "median",
            "median score",
            median,
            format_number(stats.median) if stats.median is not None else "—",
        ),
        ("max-total", "out of", format_number(stats.max_total), format_number(stats.max_total)),
        ("errors", "grader failures", len(stats.errors), str(len(stats.errors))),
    ):
        out.append(
            f'<div class="stat"><dt>{_e(label)}</dt>'
            f'<dd id="stat-{key}" data-value="{_e(value)}">{_e(shown)}</dd></div>'
        )
    out.append("</dl>")

    if stats.errors:
        out.append(
            '<div class="warn" id="grader-errors"><strong>The grader failed on our side for '
            f"{len(stats.errors)} submission(s).</strong> They have no grade in grades.csv (empty "
            "total); rerun the batch to retry them.<ul>"
        )
        for record in stats.errors:
            out.append(
                f'<li class="grader-error" data-id="{_e(record.id)}">{_e(record.id)} '
                f"({_e(_names(record))}): {_e(record.error)}</li>"
            )
        out.append("</ul></div>")

    out.append('<h2>Sandbox</h2><ul id="sandbox">')
    for layers, count in stats.sandboxes:
        out.append(
            f'<li class="sandbox" data-count="{count}">{_e(layers)}: {count} submission(s)</li>'
        )
    out.append("</ul>")
    if stats.unconfined:
        out.append(
            f'<p class="warn" id="unconfined">{len(stats.unconfined)} submission(s) ran without '
            f"a kernel layer this grader uses: {_e('; '.join(stats.unconfined[0].sandbox_off))}"
            "</p>"
        )

    out.append("<h2>Score histogram</h2>")
    out.append(
        _histogram_svg(stats) if stats.graded else '<p class="muted">No graded submissions.</p>'
    )

    out.append("<h2>Checks</h2>")
    out.append(
        '<table id="checks"><thead><tr><th>check</th><th class="num">passed</th>'
        '<th class="num">pass rate</th>'
        '<th></th><th class="num">mean points</th></tr></thead><tbody>'
    )
    for c in stats.checks:
        rate = c.pass_rate
        low = " low" if rate < 0.5 else ""
        out.append(
            f'<tr class="check" data-check="{_e(c.check)}" data-passed="{c.passed}" '
            f'data-graded="{c.graded}" data-pass-rate="{format_number(rate)}" '
            f'data-mean-score="{format_number(c.mean_score)}" '
            f'data-max-score="{format_number(c.max_score)}">'
            f'<td><code>{_e(c.check)}</code></td><td class="num">{c.passed} / {c.graded}</td>'
            f'<td class="num">{rate * 100:.0f}%</td>'
            f'<td><div class="bar{low}"><span style="width:{rate * 100:.1f}%"></span></div></td>'
            f'<td class="num">{c.mean_score:.2f} / {_e(format_number(c.max_score))}</td></tr>'
        )
    out.append("</tbody></table>")

    out.append("<h2>Common mistakes the grader diagnosed</h2>")
    if stats.mistakes:
        out.append(
            '<table id="mistakes"><thead><tr><th>mistake</th><th class="num">students</th>'
            "<th>what it means</th>"
            "</tr></thead><tbody>"
        )
        for key, count in stats.mistakes:
            out.append(
                f'<tr class="mistake" data-mistake="{_e(key)}" data-students="{count}">'
                f'<td><code>{_e(key)}</code></td><td class="num">{count}</td>'
                f"<td>{_e(descriptions.get(key, key))}</td></tr>"
            )
        out.append("</tbody></table>")
    else:
        out.append('<p class="muted" id="mistakes">No common mistake was diagnosed.</p>')

    out.append("<h2>Slowest submissions</h2>")
    out.append(
        '<table id="slowest"><thead><tr><th>submission</th><th>submitters</th>'
        '<th class="num">grading time</th>'
        '<th class="num">total</th></tr></thead><tbody>'
    )
    for record in stats.slowest:
        total = format_number(record.total) if record.total is not None else "grader failed"
        out.append(
            f'<tr class="slow" data-id="{_e(record.id)}" '
            f'data-seconds="{format_number(record.seconds)}">'
            f"<td>{_e(record.id)}</td><td>{_e(_names(record))}</td>"
            f'<td class="num">{record.seconds:.1f} s</td><td class="num">{_e(total)}</td></tr>'
        )
    out.append("</tbody></table>")
    out.append(
        f'<p class="muted">{len(stats.records)} submission(s); per-submission results are in '
        "<code>results/</code>, grades in <code>grades.csv</code>.</p>"
    )
    out.append("</body></html>\n")
    return "\n".join(out)
