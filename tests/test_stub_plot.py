"""``python gmm1d.py --plot`` (the stub's ``plot_fit``), run as a student runs it: headless,
in a scratch folder, with and without matplotlib; and the facts the stub carries for it (the
notebook data, the matplotlib version) agree with the grader's.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from grader import paths
from tests.test_stub import N_CHECKS, STUB_PATH, stub

# --- python gmm1d.py --plot -------------------------------------------------------------

HIDE_MATPLOTLIB = (
    "import runpy, sys\n"
    "sys.modules['matplotlib'] = None  # any import of it now fails, as if not installed\n"
    "sys.argv = ['gmm1d.py', '--plot']\n"
    "runpy.run_path('gmm1d.py', run_name='__main__')\n"
)


def run_plot(tmp_path, source, hide_matplotlib=False):
    (tmp_path / "gmm1d.py").write_text(source)
    command = ["-c", HIDE_MATPLOTLIB] if hide_matplotlib else ["gmm1d.py", "--plot"]
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = ""  # headless, and no backend chosen for it: as in CI
    return subprocess.run(
        [sys.executable, *command], cwd=tmp_path, capture_output=True, text=True, env=env,
        timeout=120,
    )  # fmt: skip


@pytest.mark.slow
def test_plot_saves_a_png_of_the_fit_in_the_current_folder(tmp_path):
    from PIL import Image

    run = run_plot(tmp_path, paths.SOLUTION_PATH.read_text())
    png = tmp_path / "gmm1d_fit.png"
    assert run.returncode == 0 and run.stderr == "", run.stdout + run.stderr
    assert f"All {N_CHECKS} checks passed." in run.stdout
    assert f"Saved the picture of your fit: {png}" in run.stdout.splitlines()
    with Image.open(png) as image:
        image.load()  # decodes every pixel
        assert image.format == "PNG" and image.size == (1100, 420)
        assert len(image.getcolors(1 << 16) or range(1 << 16)) > 50  # a drawing, not a blank


@pytest.mark.slow
def test_plot_of_the_untouched_stub_says_why_it_cannot_draw(tmp_path):
    run = run_plot(tmp_path, STUB_PATH.read_text())
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr
    assert "Could not draw the fit: NotImplementedError: GMM1D.estep is not written yet" in (
        run.stdout
    )
    assert not (tmp_path / "gmm1d_fit.png").exists()


@pytest.mark.slow
@pytest.mark.parametrize("which", ["solution", "stub"])
def test_without_matplotlib_plot_says_what_to_install_and_the_self_check_still_runs(
    tmp_path, which
):
    source = (paths.SOLUTION_PATH if which == "solution" else STUB_PATH).read_text()
    run = run_plot(tmp_path, source, hide_matplotlib=True)
    lines = [line for line in run.stdout.splitlines() if line.startswith(("PASS  ", "FAIL  "))]
    assert len(lines) == N_CHECKS and "Traceback" not in run.stdout + run.stderr
    assert run.returncode == (0 if which == "solution" else 1)  # the self-check's status
    assert f"pip install matplotlib=={LOCK['matplotlib']}" in run.stdout
    assert not (tmp_path / "gmm1d_fit.png").exists()


def _lock_pins():
    """package -> version from requirements-lock.txt (the packages pinned once)."""
    text = (paths.PROJECT_ROOT / "requirements-lock.txt").read_text()
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)\s*$", text, flags=re.M))


LOCK = _lock_pins()


def test_the_stub_names_the_matplotlib_the_grader_pins():
    assert stub.MATPLOTLIB == f"matplotlib=={LOCK['matplotlib']}"


def test_the_stubs_notebook_data_is_the_graders_published_case():
    from grader import cases

    assert np.array_equal(stub._notebook_data(), cases.NOTEBOOK_EM.X)
    start = cases.NOTEBOOK_EM.start
    for name in ("priors", "mus", "variances"):
        assert np.array_equal(np.array(stub._NOTEBOOK_START[name]), getattr(start, name)), name


def test_a_mistyped_option_is_refused_before_any_check(tmp_path):
    (tmp_path / "gmm1d.py").write_text(STUB_PATH.read_text())
    run = subprocess.run(
        [sys.executable, "gmm1d.py", "--plt"], cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert run.returncode == 2 and "unrecognized arguments: --plt" in run.stderr
    assert "PASS" not in run.stdout and "FAIL" not in run.stdout
