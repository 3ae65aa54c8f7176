"""``OUT/report.html``: where the class struggled and who got what, as one self-contained page.

The page loads nothing: inline CSS, one inline script (allowed by its hash in the page's
Content-Security-Policy, see page_students.py), images as data URLs, no external URL, so it
opens offline and from a mail attachment. Every string that comes from a submission or from
the export's metadata (names, ids, grader output) is HTML-escaped before it is written. The
figures are also written as ``data-*`` attributes so a test (or a script) can read them back
from the rendered page. Sections: the summary, the histogram (page_charts.py), the checks, the
mistakes and who made them, every submission (page_students.py), similarity, timing, then
the sandbox and the software versions.
"""

import html

from grader.batch import page_students
from grader.batch.page_charts import histogram_html
from grader.batch.page_students import mistakes_table, names, similarity_section, students_table
from grader.batch.records import format_number
from grader.batch.stats import ClassStats


def _mistake_descriptions() -> dict[str, str]:
    from grader.diagnosis import MISTAKES

    return dict(MISTAKES)


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
.muted{color:#667}
td.fail{color:#b3261e;font-weight:600}
.wide{overflow-x:auto}
#students th{cursor:pointer}
#students th[aria-sort=ascending]::after{content:" ▲"}
#students th[aria-sort=descending]::after{content:" ▼"}
.sides{display:flex;gap:1em}
.side{flex:1;min-width:0}
.side pre{font-size:12px;overflow-x:auto;background:#f7f8fb;padding:.4em}
.side pre span{display:block}
.side .hit{background:#fff1a8}
.side .ln{color:#99a}
.gap{color:#99a}
img{max-width:100%}
"""


def _versions(stats: ClassStats) -> str:
    """The software each grading ran with (extra_data.versions), when the grader records it."""
    seen: dict[str, int] = {}
    for record in stats.records:
        if record.versions:
            text = ", ".join(f"{k} {v}" for k, v in sorted(record.versions.items()))
            seen[text] = seen.get(text, 0) + 1
    if not seen:
        return ""
    items = "".join(
        f'<li class="versions" data-count="{n}">{_e(text)}: {n} submission(s)</li>'
        for text, n in sorted(seen.items(), key=lambda kv: -kv[1])
    )
    return f'<h2>Software</h2><ul id="versions">{items}</ul>'


def render_report(stats: ClassStats, title: str = "Class regrade", similar=None) -> str:
    """The whole page as a string (UTF-8 when written)."""
    descriptions = _mistake_descriptions()
    out = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # no network even if a future edit slips in a URL: the page may only use itself
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        f"style-src 'unsafe-inline'; img-src data:; script-src '{page_students.SCRIPT_HASH}'\">",
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
                f"({_e(names(record))}): {_e(record.error)}</li>"
            )
        out.append("</ul></div>")
    if stats.stale:
        out.append(
            f'<p class="warn" id="stale">{len(stats.stale)} earlier result(s) of uploads no '
            "longer in this export were moved to <code>stale/</code> and are not counted: "
            f"{_e(', '.join(stats.stale))}</p>"
        )

    out.append("<h2>Score histogram</h2>")
    out.append(histogram_html(stats))

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
    out.append(mistakes_table(stats, descriptions))

    out.append("<h2>Every submission</h2>")
    out.append(students_table(stats, [c.check for c in stats.checks]))

    if similar is not None:
        from grader.batch.similarity import THRESHOLD

        out.append("<h2>Similar uploads</h2>")
        out.append(similarity_section(similar, stats, THRESHOLD))

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
            f"<td>{_e(record.id)}</td><td>{_e(names(record))}</td>"
            f'<td class="num">{record.seconds:.1f} s</td><td class="num">{_e(total)}</td></tr>'
        )
    out.append("</tbody></table>")
    out.append('<h2>Sandbox</h2><ul id="sandbox">')
    for layers, count in stats.sandboxes:
        out.append(
            f'<li class="sandbox" data-count="{count}">{_e(layers)}: {count} submission(s)</li>'
        )
    out.append("</ul>")
    if stats.no_sandbox:
        out.append('<ul id="no-sandbox">')
        for record in stats.no_sandbox:
            out.append(
                f'<li data-id="{_e(record.id)}">{_e(record.id)}: no sandbox record: '
                f"{_e(record.no_sandbox_why)}</li>"
            )
        out.append("</ul>")
    if stats.unconfined:
        out.append(
            f'<p class="warn" id="unconfined">{len(stats.unconfined)} submission(s) ran without '
            f"a kernel layer this grader uses: {_e('; '.join(stats.unconfined_reasons))}"
            "</p>"
        )

    out.append(_versions(stats))
    out.append(
        f'<p class="muted">{len(stats.records)} submission(s); per-submission results are in '
        "<code>results/</code>, grades in <code>grades.csv</code> and <code>canvas.csv</code>."
        "</p>"
    )
    out.append(f"<script>{page_students.SCRIPT}</script>")
    out.append("</body></html>\n")
    return "\n".join(out)
