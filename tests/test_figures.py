"""grader/figures.py and the numbers the checks hand out for it (grader/figure_data.py).

Each kind of figure is drawn from crafted numbers, and the test reads those numbers back
from what was drawn (the lines' and bars' data, and the PNG's pixels for one), computing
what to expect on its own (scipy's normal density, not the grader's). The checks' side:
graded in-process on trusted fixtures, each failing check hands out exactly what the
fixture's own code returns on the case its feedback shows.
"""

import importlib.util
import io

import numpy as np
import pytest
from PIL import Image
from scipy.stats import norm

from grader import checks, figures, secret
from grader.cases import NOTEBOOK_EM, Params
from grader.figure_data import EmFit, EstepValues, MstepValues
from tests.fake_sandbox import FakeSandbox
from tests.submission_fixtures import ROOT

MIN_SIZE, MAX_BYTES = (400, 250), 150_000
RED = np.array([214, 39, 40])  # figures.YOURS, #d62728: what the student's numbers are drawn in


def _decoded(png):
    """The PNG as an (h, w, 3) array, after checking that it decodes within the sizes."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) <= MAX_BYTES
    Image.open(io.BytesIO(png)).verify()
    image = Image.open(io.BytesIO(png))
    assert image.size[0] >= MIN_SIZE[0] and image.size[1] >= MIN_SIZE[1]
    assert image.size == (figures.WIDTH, figures.HEIGHT)
    return np.asarray(image.convert("RGB")).astype(int)


def _red(pixels):
    return np.abs(pixels - RED).sum(axis=2) < 40


def _mixture(x, params):
    sd = np.sqrt(params.variances)
    return sum(p * norm.pdf(x, m, s) for p, m, s in zip(params.priors, params.mus, sd))


def _line(ax, label):
    (line,) = [line for line in ax.lines if line.get_label() == label]
    return line


X5 = np.array([-1.0, 0.0, 4.0, 5.0, 6.0])
REF = Params.of([0.4, 0.6], [0.0, 5.0], [1.0, 1.0])
MINE = Params.of([0.5, 0.5], [1.0, 4.0], [2.0, 1.5])
LLS = np.array([-20.0, -12.0, -11.0, -11.5])  # fell at iteration 3
REF_LLS = np.array([-20.0, -12.0, -10.5, -10.2, -10.1])


def test_full_em_failure_shows_both_fits_and_both_log_likelihoods():
    data = EmFit("crafted case", X5, MINE, REF, 3, LLS, REF_LLS, marked=3, why="fell")
    fig, alt, caption = figures.build(data)
    fit, curves = fig.axes
    grid = _line(fit, "your fit").get_xdata()
    assert np.allclose(_line(fit, "your fit").get_ydata(), _mixture(grid, MINE))
    assert np.allclose(_line(fit, "reference's fit").get_ydata(), _mixture(grid, REF))
    assert np.allclose(_line(curves, "yours").get_ydata(), LLS)
    assert np.allclose(_line(curves, "reference").get_ydata(), REF_LLS)
    marks = [line for line in curves.lines if list(line.get_xdata()) == [3, 3]]
    assert marks, "no line marks iteration 3"
    assert "yours fell at iteration 3" in alt and "crafted case" in alt
    assert "Iteration 3" in caption
    pixels = _decoded(figures.draw(data).png)
    assert _red(pixels).sum() > 500  # the student's curves are drawn


def test_full_score_shows_the_students_fit():
    data = EmFit("crafted pass", X5, MINE, REF, 30, LLS, REF_LLS)
    fig, alt, caption = figures.build(data)
    (fit,) = fig.axes  # the fit alone: nothing went wrong to point at
    grid = _line(fit, "your fit").get_xdata()
    assert np.allclose(_line(fit, "your fit").get_ydata(), _mixture(grid, MINE))
    assert "30 iterations" in alt and caption
    _decoded(figures.draw(data).png)


def test_estep_figure_draws_each_clusters_responsibilities_over_x():
    x = np.array([3.0, -2.0, 0.5, 1.0])
    expected = np.array([[0.1, 0.9], [0.95, 0.05], [0.6, 0.4], [0.4, 0.6]])
    got = np.array([[0.3, 0.7], [0.8, 0.2], [0.5, 0.5], [0.45, 0.55]])
    data = EstepValues("crafted E-step", x, got, expected, row=0)
    fig, alt, caption = figures.build(data)
    (ax,) = fig.axes
    order = np.argsort(x)
    dashed = [line for line in ax.lines if line.get_linestyle() == "--" and line.get_xdata().size]
    solid = [line for line in ax.lines if line.get_label().startswith("cluster")]
    assert [list(line.get_ydata()) for line in dashed] == [list(got[order, j]) for j in (0, 1)]
    assert [list(line.get_ydata()) for line in solid] == [list(expected[order, j]) for j in (0, 1)]
    assert all(list(line.get_xdata()) == list(x[order]) for line in dashed + solid)
    assert "2 clusters" in alt and "row 0" in alt and "x = 3" in alt
    _decoded(figures.draw(data).png)


def test_mstep_figure_draws_each_parameter_per_cluster_as_the_numbers_say():
    reference = Params.of([0.5, 0.5], [-1.0, 2.0], [1.0, 0.5])
    mine = {"priors": np.array([0.25, 0.75]), "mus": np.array([-1.0, 2.0]), "variances": None}
    data = MstepValues("crafted M-step", mine, reference, focus="priors")
    fig, alt, caption = figures.build(data)
    priors_ax = fig.axes[0]
    heights = sorted((bar.get_x(), bar.get_height()) for bar in priors_ax.patches)
    assert [h for _, h in heights] == [0.5, 0.25, 0.5, 0.75]  # reference, yours per cluster
    texts = [t.get_text() for t in fig.axes[2].texts]
    assert "not 2 numbers" in texts  # the variances could not be read as k numbers
    assert "priors" in caption and "2 clusters" in alt
    # The PNG itself: in the priors panel (left third), yours are two red bars whose
    # heights are in the ratio 0.75 / 0.25.
    red = _red(_decoded(figures.draw(data).png)[:, : figures.WIDTH // 3])
    columns = np.flatnonzero(red.any(axis=0))
    runs = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)
    assert len(runs) == 2
    bottom = max(np.flatnonzero(red[:, run].any(axis=1)).max() for run in runs)
    tops = [np.flatnonzero(red[:, run].any(axis=1)).min() for run in runs]
    ratio = (bottom - tops[1]) / (bottom - tops[0])
    assert 2.7 < ratio < 3.3, ratio


def test_non_finite_and_huge_numbers_are_drawn_within_bounds_and_said():
    got = np.array([[np.nan, 1e300], [0.5, 0.5], [np.inf, -np.inf]])
    data = EstepValues("hostile E-step", np.array([0.0, 1.0, 2.0]), got, np.full((3, 2), 0.5), 0)
    figure = figures.draw(data)
    assert "3 of your values are not finite" in figure.caption
    _decoded(figure.png)
    mine = {"priors": np.array([1e300, -1e300]), "mus": np.array([np.nan, 0.0]), "variances": None}
    data = MstepValues("hostile M-step", mine, Params.of([0.5, 0.5], [0, 1], [1, 1]), "mus")
    fig, _, caption = figures.build(data)
    low, high = fig.axes[0].get_ylim()
    assert high < 10 and low > -10  # the reference's range, widened a bounded amount
    assert "1 of your values are not finite" in caption
    lls = np.array([-20.0, -np.inf, np.nan, -1e308])
    mine = Params.of([0.5, 0.5], [0.0, 1e200], [-1.0, 0.0])
    em = EmFit("hostile EM", X5, mine, REF, 1, lls, REF_LLS, marked=1, why="not finite")
    _decoded(figures.draw(em).png)


# --- what the checks hand out --------------------------------------------------------------

REFERENCE_MODULE = checks.load_reference()


def _graded(fixture):
    path = ROOT / fixture
    ctx = checks.Context.for_grading(
        FakeSandbox.from_file(path), REFERENCE_MODULE, secret.development()
    )
    outcomes = {check_id: checks.run(check_id, ctx) for check_id in checks.ids()}
    spec = importlib.util.spec_from_file_location("fixture_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a trusted fixture, to compute what it returns
    return outcomes, ctx, module.GMM1D


def _model(cls, params):
    model = cls(params.k)
    model.priors, model.mus, model.variances = (
        np.array(v, dtype=float).reshape(-1, 1)
        for v in (params.priors, params.mus, params.variances)
    )
    return model


def test_a_failing_estep_check_hands_out_the_students_answer_on_the_case_it_shows():
    outcomes, ctx, cls = _graded("buggy/priors_ignored.py")
    outcome = outcomes["estep_values"]
    data = outcome.figure_data
    assert not outcome.passed and isinstance(data, EstepValues)
    assert data.case in outcome.feedback and f"row {data.row} " in outcome.feedback
    (case,) = [c for c in ctx.cases.value_cases if c.name == data.case]
    assert np.array_equal(data.got, _model(cls, case.params).estep(case.X))
    assert np.allclose(data.expected, ctx.ref_estep(case.params, case.X))
    assert outcomes["estep_shape"].figure_data is None  # only the values are drawn


def test_a_failing_mstep_check_hands_out_what_the_students_mstep_stored():
    outcomes, ctx, cls = _graded("buggy/variance_old_mean.py")
    outcome = outcomes["mstep_variances"]
    data = outcome.figure_data
    assert not outcome.passed and isinstance(data, MstepValues) and data.focus == "variances"
    (case,) = [c for c in ctx.cases.mstep_cases if c.name == data.case]
    model = _model(cls, case.params)
    model.mstep(case.X, case.gammas)
    for name in ("priors", "mus", "variances"):
        assert np.array_equal(data.mine[name], np.ravel(getattr(model, name)))
    assert outcomes["mstep_priors"].passed and outcomes["mstep_priors"].figure_data is None


def test_full_em_hands_out_the_failing_run_and_a_pass_its_fit():
    outcomes, ctx, _ = _graded("buggy/variance_old_mean.py")
    outcome = outcomes["em_monotone"]
    data = outcome.figure_data
    assert not outcome.passed and isinstance(data, EmFit) and data.why == "parted"
    assert f"after iteration {data.marked} " in outcome.feedback and data.case in outcome.feedback
    assert data.ref_lls.size == 31 and data.lls.size == 31
    assert data.lls[0] == data.ref_lls[0] and data.lls[data.marked] != data.ref_lls[data.marked]

    outcomes, ctx, _ = _graded("correct/extra_prints.py")
    data = outcomes["em_monotone"].figure_data
    assert outcomes["em_monotone"].passed and data.case == NOTEBOOK_EM.name
    assert data.marked is None and data.iteration == 30
    assert np.allclose(data.lls, data.ref_lls) and np.allclose(data.mine.mus, data.reference.mus)


@pytest.mark.parametrize("fixture", ["buggy/priors_ignored.py", "buggy/variance_old_mean.py"])
def test_every_figure_a_buggy_fixture_gets_is_drawn_within_the_sizes(fixture):
    outcomes, _, _ = _graded(fixture)
    drawn = [figures.draw(o.figure_data) for o in outcomes.values() if o.figure_data]
    assert len(drawn) >= 2
    for figure in drawn:
        _decoded(figure.png)
        assert figure.alt
