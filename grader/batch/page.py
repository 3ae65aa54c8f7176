"""``OUT/report.html``: where the class struggled, as one self-contained page.

The page loads nothing: inline CSS, inline SVG, no script, no external URL, so it opens
offline and from a mail attachment. Every string that comes from a submission or from the
export's metadata (names, ids, grader output) is HTML-escaped before it is written. The
figures are also written as ``data-*`` attributes so a test (or a script) can read them back
from the rendered page.
"""

import html

from grader.batch.records import ClassStats, Record, format_number


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
            f"a kernel layer this grader uses: {_e('; '.join(stats.unconfined_reasons))}"
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
