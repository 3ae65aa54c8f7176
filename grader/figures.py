"""Figures of a grading, drawn with matplotlib (Agg) on the grader's side (the drawing
process, grader/drawer.py, a fork of the grader) from the numbers the checks hand out
(grader/figure_data.py): never in the worker, never from anything but validated float arrays.

:func:`draw` is the one place a figure is made, after the checks; only a check that handed
out numbers gets one, so a grading draws only what its feedback shows. Each figure is
``WIDTH`` x ``HEIGHT`` pixels, a PNG of at most ``FIGURE_MAX_BYTES``. The student's numbers
may be NaN, infinite or huge: what is not finite is left out (the caption says so), and what
lies far outside the reference's range is drawn at the edge with an arrow-head marker.

matplotlib costs about 0.3 s of CPU to import: a grading draws in a process of its own,
forked as the grading starts (grader/drawer.py), so the import and :func:`warm_up` run on
the other core while the checks run. :func:`draw_all` is the same
drawing in the calling process, where that process cannot be had.
"""

import io
import sys
import textwrap

import numpy as np

from grader.cases import PARAM_LABELS, component_densities
from grader.figure_data import EmFit, EstepValues, MstepValues
from grader.result import Figure

DPI = 100
WIDTH, HEIGHT = 720, 300  # pixels: at least 400 x 250, as Gradescope shows them
FIGURE_MAX_BYTES = 150_000
YOURS, REFERENCE, DATA = "#d62728", "#1f77b4", "#c7c7c7"
TICKS = 5  # at most, per axis
SPREAD = 3.0  # the student's values are drawn up to this many reference spans beyond it
WHAT_HAPPENED = {
    "fell": "yours fell",
    "parted": "yours parted from the reference's",
    "not finite": "yours is not a finite number",
    "stopped": "your code stopped",
}


def _import():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.ticker import MaxNLocator

    return MplFigure, FigureCanvasAgg, MaxNLocator


def warm_up() -> None:
    """Import matplotlib and render one word, unused: the first figure a process draws also
    loads the font and the PNG encoder (about 30 ms of a 75 ms figure); this costs 8 ms."""
    MplFigure, FigureCanvasAgg, _ = _import()
    fig = MplFigure(figsize=(1, 1), dpi=50)
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.5, "0.5 x", fontsize=8)
    fig.savefig(io.BytesIO(), format="png")


def _canvas(columns):
    MplFigure, FigureCanvasAgg, MaxNLocator = _import()
    fig = MplFigure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, columns, squeeze=False)[0]
    fig.subplots_adjust(left=0.08, right=0.985, bottom=0.16, top=0.83, wspace=0.28)
    for ax in axes:
        ax.tick_params(labelsize=8)
        # Tick labels are most of the drawing time: a few per axis.
        ax.xaxis.set_major_locator(MaxNLocator(TICKS))
        ax.yaxis.set_major_locator(MaxNLocator(TICKS))
    return fig, axes


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _title(text, width=110) -> str:
    # Plain text: a "$" would start matplotlib's mathtext.
    return textwrap.shorten(str(text), width, placeholder="...").replace("$", r"\$")


def _limits(reference, mine):
    """(low, high): the reference's range, widened to take in the student's finite values,
    but at most SPREAD of the reference's spans beyond it."""
    ref = np.asarray(reference, dtype=float)
    ref = ref[np.isfinite(ref)]
    low, high = (float(ref.min()), float(ref.max())) if ref.size else (0.0, 1.0)
    span = max(high - low, 0.1 * max(abs(low), abs(high)), 1e-3)
    ours = np.asarray(mine, dtype=float)
    ours = ours[np.isfinite(ours)]
    if ours.size:
        low = max(min(low, float(ours.min())), low - SPREAD * span)
        high = min(max(high, float(ours.max())), high + SPREAD * span)
    pad = 0.08 * (high - low)
    return low - pad, high + pad


def _clipped(values, low, high):
    """(values inside [low, high] or NaN where not finite, mask of the ones moved to an edge)."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    shown = np.where(finite, np.clip(np.where(finite, values, 0.0), low, high), np.nan)
    return shown, finite & ((values < low) | (values > high))


def _not_finite_note(count) -> str:
    return f" {count} of your values are not finite numbers and are not drawn." if count else ""


def _mixture(grid, params):
    with np.errstate(all="ignore"):
        return component_densities(grid, params.mus, params.variances) @ params.priors


def _fit_panel(ax, data: EmFit) -> int:
    """The data as a histogram, with the reference's mixture density and the student's;
    returns how many points were drawn."""
    x = data.x[np.isfinite(data.x)]
    sd = float(np.sqrt(np.max(data.reference.variances)))
    grid = np.linspace(x.min() - 2 * sd, x.max() + 2 * sd, 200)
    bins = int(np.clip(2 * np.sqrt(x.size), 5, 30))
    heights, _, _ = ax.hist(x, bins=bins, density=True, color=DATA, label="data")
    reference_density = _mixture(grid, data.reference)
    top = 1.25 * max(float(np.max(heights)), float(np.max(reference_density)))
    yours, _ = _clipped(_mixture(grid, data.mine), 0.0, 1.5 * top)
    ax.plot(grid, reference_density, color=REFERENCE, lw=2, label="reference's fit")
    ax.plot(grid, yours, color=YOURS, lw=1.8, ls="--", label="your fit")
    ax.set_ylim(0, top)
    ax.set_xlabel("x", fontsize=8)
    ax.set_ylabel("density", fontsize=8)
    ax.legend(fontsize=7, loc="upper right")
    return x.size


def _loglik_panel(ax, data: EmFit) -> None:
    """The log-likelihood per iteration, the reference's and the student's, and a mark at
    the iteration the feedback points at."""
    steps = np.arange(max(data.lls.size, data.ref_lls.size))
    low, high = _limits(data.ref_lls, data.lls)
    lls, moved = _clipped(data.lls, low, high)
    ax.plot(steps[: data.ref_lls.size], data.ref_lls, color=REFERENCE, lw=2, label="reference")
    ax.plot(steps[: lls.size], lls, color=YOURS, ls="--", marker="o", ms=3, label="yours")
    ax.plot(steps[: lls.size][moved], lls[moved], "v", color=YOURS, ms=7)
    ax.axvline(data.marked, color=YOURS, lw=1, ls=":")
    if data.marked < lls.size and np.isfinite(lls[data.marked]):
        ax.plot([data.marked], [lls[data.marked]], "o", ms=11, mfc="none", color=YOURS)
    ax.annotate(f" iteration {data.marked}", (data.marked, 0.04), fontsize=7, color=YOURS,
                xycoords=("data", "axes fraction"))  # fmt: skip
    ax.set_ylim(low, high)
    ax.set_xlabel("iteration", fontsize=8)
    ax.set_title("Log-likelihood per iteration", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")


def _em(data: EmFit):
    """A failure: the fits where the run went wrong, beside both log-likelihood curves. A
    pass: the student's fit alone (the curves agree, and one panel costs half as much)."""
    if data.marked is None:
        fig, (ax,) = _canvas(1)
        points = _fit_panel(ax, data)
        fig.suptitle(_title(f"Your fit after {data.iteration} iterations: {data.case}"),
                     fontsize=9)  # fmt: skip
        alt = (
            f"A histogram of the {points} points of {data.case}, with the mixture density "
            f"your EM fitted in {data.iteration} iterations and the reference's, which agree."
        )
        return fig, alt, "Your fit, drawn over the reference's."
    fig, (left, right) = _canvas(2)
    points = _fit_panel(left, data)
    left.set_title(f"The data and the fits after iteration {data.iteration}", fontsize=9)
    _loglik_panel(right, data)
    fig.suptitle(_title(data.case), fontsize=9)
    told = f"{WHAT_HAPPENED.get(data.why, data.why)} at iteration {data.marked}"
    alt = (
        f"Left: a histogram of the {points} points of {data.case}, with the mixture density "
        f"the reference fitted and yours after iteration {data.iteration}. Right: the "
        f"log-likelihood at each iteration, yours and the reference's; {told}."
    )
    missing = int(np.sum(~np.isfinite(data.lls)))
    caption = f"Iteration {data.marked} (dotted line): {told}."
    return fig, alt, caption + _not_finite_note(missing)


def _estep(data: EstepValues):
    fig, (ax,) = _canvas(1)
    fig.subplots_adjust(left=0.07, right=0.82)
    order = np.argsort(data.x, kind="stable")
    x = data.x[order]
    got, _ = _clipped(data.got[order], -0.05, 1.05)
    for j in range(data.expected.shape[1]):
        color = f"C{j % 10}"
        ax.plot(x, data.expected[order, j], color=color, lw=2, label=f"cluster {j + 1}")
        ax.plot(x, got[:, j], color=color, lw=1.2, ls="--", marker="x", ms=4)
    ax.axvline(data.x[data.row], color="black", lw=1, ls=":")
    ax.annotate(f"row {data.row}", (data.x[data.row], 1.1), fontsize=7, ha="center")
    ax.plot([], [], color="gray", lw=2, label="reference")
    ax.plot([], [], color="gray", lw=1.2, ls="--", marker="x", ms=4, label="yours")
    ax.set_ylim(-0.08, 1.18)
    ax.set_xlabel("x", fontsize=8)
    ax.set_ylabel("P(cluster | x)", fontsize=8)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(_title(f"Responsibilities: {data.case}", 100), fontsize=9)
    k = data.expected.shape[1]
    alt = (
        f"The responsibility of each of the {k} clusters as a curve over x, for the "
        f"{x.size} points of {data.case}: the reference's as solid lines, yours as dashed "
        f"lines with crosses; a dotted line marks x = {data.x[data.row]:.4g}, row {data.row}."
    )
    missing = int(np.sum(~np.isfinite(data.got)))
    caption = f"Solid: the reference's; dashed: yours. Row {data.row} is the one shown above."
    return fig, alt, caption + _not_finite_note(missing)


def _mstep(data: MstepValues):
    fig, axes = _canvas(3)
    k = data.reference.k
    clusters = np.arange(1, k + 1)
    missing = 0
    for ax, name in zip(axes, PARAM_LABELS):
        reference = getattr(data.reference, name)
        mine = data.mine.get(name)
        ax.bar(clusters - 0.2, reference, 0.38, color=REFERENCE, label="reference")
        if mine is None:
            ax.text(0.5, 0.5, f"not {k} numbers", transform=ax.transAxes, ha="center",
                    fontsize=8, color=YOURS)  # fmt: skip
            low, high = _limits(np.append(reference, 0.0), reference)
        else:
            low, high = _limits(np.append(reference, 0.0), mine)
            shown, moved = _clipped(mine, low, high)
            bars = ax.bar(clusters + 0.2, np.nan_to_num(shown), 0.38, color=YOURS, label="yours")
            if name == data.focus:  # the values this check judges, written on the bars
                ax.bar_label(bars, [f"{v:.3g}" for v in mine], fontsize=6, rotation=90,
                             padding=2)  # fmt: skip
            ax.plot(clusters[moved] + 0.2, shown[moved], "^", color="black", ms=6)
            for j in np.flatnonzero(~np.isfinite(mine)):
                ax.text(clusters[j] + 0.2, 0, "not finite", rotation=90, fontsize=7,
                        ha="center", va="bottom", color=YOURS)  # fmt: skip
            missing += int(np.sum(~np.isfinite(mine)))
        if name == data.focus:
            high += 0.2 * (high - low)  # room for the values written on the bars
        ax.set_ylim(low, high)
        ax.set_xticks(clusters)
        ax.set_xlabel("cluster", fontsize=8)
        this = name == data.focus
        ax.set_title(PARAM_LABELS[name] + (" (this check)" if this else ""), fontsize=9,
                     fontweight="bold" if this else "normal")  # fmt: skip
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="upper right", ncols=2)
    fig.suptitle(_title(f"After mstep: {data.case}", 80), fontsize=9, x=0.4)
    alt = (
        f"Three bar charts, one per parameter (priors, means, variances), each with a pair of "
        f"bars for each of the {k} clusters: the reference's and yours, for {data.case}."
    )
    caption = (
        f"Blue: the reference's; red: yours. This check judges the {PARAM_LABELS[data.focus]}."
    )
    return fig, alt, caption + _not_finite_note(missing)


BUILDERS = {EmFit: _em, EstepValues: _estep, MstepValues: _mstep}


def build(data):
    """(matplotlib figure, alt text, caption) of one check's numbers, not yet rendered; None
    for numbers no figure is drawn from."""
    builder = BUILDERS.get(type(data))
    return builder(data) if builder is not None else None


def draw(data) -> Figure | None:
    """The figure of one check's numbers (grader/figure_data.py) as a PNG, or None when there
    are none or the PNG came out larger than ``FIGURE_MAX_BYTES`` (never expected; logged)."""
    built = build(data)
    if built is None:
        return None
    fig, alt, caption = built
    png = _png(fig)
    if len(png) > FIGURE_MAX_BYTES:
        print(f"grader: a {type(data).__name__} figure of {len(png)} bytes was left out",
              file=sys.__stderr__)  # fmt: skip
        return None
    return Figure(png, alt, caption)


def draw_all(items) -> list:
    """:func:`draw` of each item, in this process (None where it is not drawn)."""
    return [draw(data) for data in items]
