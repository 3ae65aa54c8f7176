"""report.html's histogram: a PNG drawn with matplotlib (Agg, the object API: no pyplot state),
embedded as a data URL, with the same counts as a table below it for screen readers, tests
and anyone who wants the numbers.
"""

import base64
import html
import io

from grader.batch.records import CATEGORIES, format_number
from grader.batch.stats import ClassStats

COLOURS = {
    "graded": "#3b6fd8",
    "unchanged stub": "#f0a030",
    "did not load": "#d8613b",
    "nothing uploaded": "#9aa0ad",
}


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def histogram_png(stats: ClassStats) -> bytes:
    """Stacked bars: per score bin, how many were graded, unchanged stubs, did not load."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.2, 2.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    lows = [low for low, _, _ in stats.histogram]
    width = (stats.histogram[0][1] - lows[0]) if lows else 1.0
    bottom = [0] * len(lows)
    for category in CATEGORIES:
        counts = stats.histogram_by.get(category, [0] * len(lows))
        if any(counts):
            axes.bar(
                lows, counts, width=width * 0.92, bottom=bottom, align="edge",
                color=COLOURS[category], label=f"{category} ({sum(counts)})",
            )  # fmt: skip
            bottom = [b + c for b, c in zip(bottom, counts)]
    axes.set_xlabel(f"score (of {format_number(stats.max_total)})")
    axes.set_ylabel("submissions")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(frameon=False, fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def histogram_html(stats: ClassStats) -> str:
    if not stats.graded:
        return '<p class="muted">No graded submissions.</p>'
    counts = {c: sum(stats.histogram_by.get(c, [])) for c in CATEGORIES}
    alt = "Score histogram: " + ", ".join(f"{n} {c}" for c, n in counts.items() if n)
    data = base64.b64encode(histogram_png(stats)).decode("ascii")
    out = [f'<img id="histogram-chart" alt="{_e(alt)}" src="data:image/png;base64,{data}">']
    out.append(
        '<details><summary>the counts</summary><table id="histogram"><thead><tr><th>score</th>'
        + "".join(f'<th class="num">{_e(c)}</th>' for c in CATEGORIES)
        + "</tr></thead><tbody>"
    )
    for i, (low, high, count) in enumerate(stats.histogram):
        by = {c: stats.histogram_by.get(c, [0] * (i + 1))[i] for c in CATEGORIES}
        attrs = " ".join(f'data-{c.replace(" ", "-")}="{n}"' for c, n in by.items())
        out.append(
            f'<tr class="bin" data-low="{format_number(low)}" data-high="{format_number(high)}" '
            f'data-count="{count}" {attrs}><td>{format_number(low)}–{format_number(high)}</td>'
            + "".join(f'<td class="num">{n}</td>' for n in by.values())
            + "</tr>"
        )
    out.append("</tbody></table></details>")
    return "\n".join(out)
