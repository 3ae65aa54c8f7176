"""The two-cluster hint (two_gaussian_1dgm.py): correct, runnable, and honest about its check.

Expected numbers are the published MITx 6.86x answers ("An Example Update", the exercise
"EM Algorithm"), typed in below.
The hint adds EPSILON = 1e-12 to its denominators, which moves these values by ~1e-11.
"""

import importlib.util
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from grader import paths

HINT_PATH = paths.PROJECT_ROOT / "two_gaussian_1dgm.py"


def load_hint():
    spec = importlib.util.spec_from_file_location("two_gaussian_1dgm_under_test", HINT_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hint = load_hint()


def column(values):
    return np.array(values, dtype=float).reshape(-1, 1)


def test_example_update_matches_the_published_answer():
    m = hint.TwoGaussian1DGM(
        prior1=0.5, mu1=-3.0, variance1=4.0, prior2=0.5, mu2=2.0, variance2=4.0
    )
    X = column([0.2, -0.9, -1.0, 1.2, 1.8])
    assert m.log_likelihood(X) == pytest.approx(-11.6484877702, abs=1e-9)
    gammas = m.estep(X)
    assert gammas.shape == (5, 2)
    np.testing.assert_allclose(
        gammas[:, 0],
        [0.2942149722, 0.6224593312, 0.6513548647, 0.1066905939, 0.0534033298],
        rtol=0,
        atol=1e-9,
    )
    m.mstep(X, gammas)
    np.testing.assert_allclose(
        [m.prior2, m.mu2, m.variance2],
        [0.6543753816, 0.6811290964, 1.0752479632],
        rtol=0,
        atol=1e-9,
    )
    np.testing.assert_allclose(
        [m.prior1, m.mu1, m.variance1], [0.34562, -0.53733, 0.57579], rtol=0, atol=5e-6
    )


def test_exercise_one_iteration_and_convergence():
    m = hint.TwoGaussian1DGM(prior1=0.5, mu1=6.0, variance1=1.0, prior2=0.5, mu2=7.0, variance2=4.0)
    X = column([-1.0, 0.0, 4.0, 5.0, 6.0])
    m.em(X)
    # p(x = -1) is only ~3.4e-5 here, so EPSILON / p(x) ~ 3e-8: hence 1e-7, not 1e-9.
    np.testing.assert_allclose(
        [m.prior1, m.mu1, m.variance1],
        [0.3630370594, 5.1317280296, 0.6155625014],
        rtol=0,
        atol=1e-7,
    )
    np.testing.assert_allclose(
        [m.prior2, m.mu2, m.variance2],
        [0.6369629406, 1.4710314946, 6.9670221018],
        rtol=0,
        atol=1e-7,
    )
    for _ in range(3000):
        m.em(X)
    np.testing.assert_allclose([m.prior1, m.mu1, m.variance1], [0.6, 5.0, 2 / 3], rtol=0, atol=1e-6)
    np.testing.assert_allclose([m.prior2, m.mu2, m.variance2], [0.4, -0.5, 0.25], rtol=0, atol=1e-6)
    assert m.log_likelihood(X) == pytest.approx(-8.4652589669, abs=1e-9)


def test_parameters_are_plain_numbers_one_per_cluster():
    m = hint.TwoGaussian1DGM()
    m.em(hint.synthetic_data())
    for name in ("prior", "mu", "variance"):
        for cluster in (1, 2):
            assert np.ndim(getattr(m, f"{name}{cluster}")) == 0


def test_its_own_check_fails_when_the_log_likelihood_falls(monkeypatch, capsys):
    def sabotaged_em(self, X):  # a correct step, then the first mean pushed far away
        self.mstep(X, self.estep(X))
        self.mu1 -= 3.0

    monkeypatch.setattr(hint.TwoGaussian1DGM, "em", sabotaged_em)
    assert hint.main(max_iters=5) == 1
    assert "FAIL  the log-likelihood decreased at iteration" in capsys.readouterr().out


@pytest.mark.slow
def test_running_it_as_a_student_fits_prints_and_passes(tmp_path):
    shutil.copy(HINT_PATH, tmp_path / HINT_PATH.name)
    run = subprocess.run(
        [sys.executable, HINT_PATH.name], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0 and run.stderr == "", run.stdout + run.stderr
    out = run.stdout
    values = [
        float(v) for v in re.findall(r"^iteration +\d+: log-likelihood (\S+)$", out, flags=re.M)
    ]
    assert len(values) > 5
    # Judge the printed trajectory ourselves, not only the script's own verdict.
    assert all(b >= a - 1e-9 * abs(a) for a, b in zip(values, values[1:]))
    assert values[-1] > values[0] + 100  # it really fitted: from the poor start to a good fit
    assert re.search(r"^  cluster 1: prior \S+, mean \S+, variance \S+$", out, flags=re.M)
    assert re.search(r"^  cluster 2: prior \S+, mean \S+, variance \S+$", out, flags=re.M)
    passed = re.findall(
        r"^PASS  the log-likelihood never decreased over (\d+) iterations", out, flags=re.M
    )
    assert passed == [str(len(values) - 1)]
    assert "FAIL" not in out
