"""The student stub (gmm1d.py) and its self-check, exercised the way a student meets them.

The self-check is run as ``python gmm1d.py`` in a temporary copy: untouched, then with
typical student answers spliced into estep/mstep (right ones, and classic mistakes). Each
run is judged by its exit status and its PASS/FAIL lines.
"""

import ast
import importlib.util
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from grader import paths

STUB_PATH = paths.PROJECT_ROOT / paths.SUBMISSION_FILENAME
N_CHECKS = 20  # 3 worked examples + E-step and M-step for k = 1..6 + EM for k = 2..6


def load_stub():
    spec = importlib.util.spec_from_file_location("gmm1d_stub_under_test", STUB_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stub = load_stub()


# --- in process: what works and what does not ---------------------------------------------


def test_estep_and_mstep_raise_not_implemented_naming_what_to_write():
    m = stub.GMM1D(3, seed=0)
    X = np.linspace(-1, 1, 7).reshape(-1, 1)
    with pytest.raises(NotImplementedError, match=r"GMM1D\.estep .*\(n, k\)"):
        m.estep(X)
    with pytest.raises(NotImplementedError, match=r"GMM1D\.mstep .*self\.priors"):
        m.mstep(X, np.full((7, 3), 1 / 3))
    with pytest.raises(NotImplementedError):
        m.em(X)


def test_everything_else_already_works():
    assert stub.EPSILON == 1e-12 and stub.DELTA == 1e-9
    m = stub.GMM1D(2, seed=1)
    assert m.num_gaussians == 2 and all(a.shape == (2, 1) for a in (m.priors, m.mus, m.variances))
    with pytest.raises(ValueError):
        m.estep(np.zeros(4))  # the shape guard is given; only the E-step itself is missing
    m.priors, m.mus, m.variances = (
        np.array([[0.5], [0.5]]),
        np.array([[-3.0], [2.0]]),
        np.array([[4.0], [4.0]]),
    )
    # 6.86x "An Example Update": the published log-likelihood at the start
    assert m.log_likelihood(np.array([[0.2], [-0.9], [-1.0], [1.2], [1.8]])) == pytest.approx(
        -11.6484877702, abs=1e-9
    )


# --- as a student runs it ---------------------------------------------------------------


def splice(estep=None, mstep=None):
    """The stub's source with the ``raise NotImplementedError`` of estep/mstep replaced."""
    source = STUB_PATH.read_text()
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "GMM1D")
    edits = []
    for node in cls.body:
        body = {"estep": estep, "mstep": mstep}.get(getattr(node, "name", None))
        if body is not None:
            raise_stmt = node.body[-1]
            assert isinstance(raise_stmt, ast.Raise), "the stub's method should end in its raise"
            edits.append(
                (
                    raise_stmt.lineno,
                    raise_stmt.end_lineno,
                    textwrap.indent(textwrap.dedent(body), " " * 8),
                )
            )
    for first, last, text in sorted(edits, reverse=True):
        lines[first - 1 : last] = [text]
    return "".join(lines)


def run_self_check(tmp_path, source=None):
    (tmp_path / "gmm1d.py").write_text(source if source is not None else STUB_PATH.read_text())
    run = subprocess.run(
        [sys.executable, "gmm1d.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith(("PASS  ", "FAIL  "))]
    assert len(lines) == N_CHECKS, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr, run.stdout + run.stderr
    return run, lines


def failing(lines):
    return [line for line in lines if line.startswith("FAIL")]


NAIVE_ESTEP = """
    joint = self.priors.T * pdf(X, self.mus.T, self.variances.T)
    return joint / joint.sum(axis=1, keepdims=True)
"""
NAIVE_MSTEP = """
    n_j = gammas.sum(axis=0)
    self.priors = (n_j / X.shape[0]).reshape(-1, 1)
    self.mus = ((gammas * X).sum(axis=0) / n_j).reshape(-1, 1)
    self.variances = ((gammas * (X - self.mus.T) ** 2).sum(axis=0) / n_j).reshape(-1, 1)
"""
# The hint's style generalised with a loop over the clusters, EPSILON in every denominator.
LOOP_ESTEP = """
    k = self.num_gaussians
    joint = np.zeros((X.shape[0], k))
    for j in range(k):
        joint[:, j:j + 1] = self.priors[j, 0] * pdf(X, self.mus[j, 0], self.variances[j, 0])
    return joint / (joint.sum(axis=1, keepdims=True) + EPSILON)
"""
LOOP_MSTEP = """
    n, k = gammas.shape
    priors, mus, variances = np.zeros((k, 1)), np.zeros((k, 1)), np.zeros((k, 1))
    for j in range(k):
        g = gammas[:, j:j + 1]
        n_j = np.sum(g)
        priors[j] = n_j / n
        mus[j] = np.sum(g * X) / (n_j + EPSILON)
        variances[j] = np.sum(g * (X - mus[j]) ** 2) / (n_j + EPSILON)
    self.priors, self.mus, self.variances = priors, mus, variances
"""


@pytest.mark.slow
def test_untouched_stub_says_plainly_what_is_missing(tmp_path):
    run, lines = run_self_check(tmp_path)
    assert run.returncode == 1 and run.stderr == ""
    assert len(failing(lines)) == N_CHECKS
    assert all("is not written yet (it raises NotImplementedError)" in line for line in lines)
    assert re.search(
        r"^Not written yet: GMM1D\.estep and GMM1D\.mstep still raise NotImplementedError",
        run.stdout,
        flags=re.M,
    )
    assert f"{N_CHECKS} of {N_CHECKS} checks failed." in run.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "estep, mstep",
    [(NAIVE_ESTEP, NAIVE_MSTEP), (LOOP_ESTEP, LOOP_MSTEP)],
    ids=["vectorised", "loops+EPSILON"],
)
def test_correct_student_code_passes_every_check(tmp_path, estep, mstep):
    run, lines = run_self_check(tmp_path, splice(estep, mstep))
    assert failing(lines) == [] and run.returncode == 0, run.stdout
    assert f"All {N_CHECKS} checks passed." in run.stdout
    assert "Not written yet" not in run.stdout


@pytest.mark.slow
def test_only_estep_written_passes_its_checks_and_names_mstep(tmp_path):
    run, lines = run_self_check(tmp_path, splice(estep=NAIVE_ESTEP))
    assert run.returncode == 1
    assert all(
        line.startswith("PASS")
        for line in lines
        if line.startswith(("PASS  E-step", "FAIL  E-step"))
    )
    assert any("GMM1D.mstep is not written yet" in line for line in failing(lines))
    assert re.search(
        r"^Not written yet: GMM1D\.mstep still raises NotImplementedError", run.stdout, flags=re.M
    )


@pytest.mark.slow
def test_variance_about_the_old_mean_fails_the_mstep_example(tmp_path):
    old_mean = """
        n_j = gammas.sum(axis=0)
        self.variances = ((gammas * (X - self.mus.T) ** 2).sum(axis=0) / n_j).reshape(-1, 1)
        self.priors = (n_j / X.shape[0]).reshape(-1, 1)
        self.mus = ((gammas * X).sum(axis=0) / n_j).reshape(-1, 1)
    """
    run, lines = run_self_check(tmp_path, splice(NAIVE_ESTEP, old_mean))
    assert run.returncode == 1
    mstep_line = next(line for line in lines if "M-step, worked example" in line)
    assert (
        mstep_line.startswith("FAIL")
        and "expected variances = [0.57579, 1.0752479632], got" in mstep_line
    )
    assert all(line.startswith("PASS") for line in lines if "E-step, k =" in line)


@pytest.mark.slow
def test_unnormalised_estep_fails_with_expected_and_found(tmp_path):
    joint_only = "return self.priors.T * pdf(X, self.mus.T, self.variances.T)\n"
    run, lines = run_self_check(tmp_path, splice(joint_only, NAIVE_MSTEP))
    assert run.returncode == 1
    assert "expected P(cluster 1 | x) = [0.2942149722" in next(
        line for line in lines if "E-step, worked" in line
    )
    for k in range(2, 7):
        line = next(line for line in lines if line.startswith(f"FAIL  E-step, k = {k}:"))
        assert "estep: expected every row of gammas to sum to 1" in line


@pytest.mark.slow
def test_two_cluster_only_code_fails_for_other_k_without_a_traceback(tmp_path):
    two_only = """
        joint1 = self.priors[0, 0] * pdf(X, self.mus[0, 0], self.variances[0, 0])
        joint2 = self.priors[1, 0] * pdf(X, self.mus[1, 0], self.variances[1, 0])
        evidence = joint1 + joint2
        return np.hstack([joint1 / evidence, joint2 / evidence])
    """
    run, lines = run_self_check(tmp_path, splice(two_only, NAIVE_MSTEP))
    assert run.returncode == 1
    by_name = {line.split(":")[0][6:]: line for line in lines}
    assert by_name["E-step, k = 2"].startswith("PASS")
    assert re.search(
        r"^FAIL  E-step, k = 1: estep: raised IndexError: .* \(in estep, line \d+: "
        r"joint2 = self\.priors\[1, 0\]",
        by_name["E-step, k = 1"],
    )
    assert "estep should return shape (n, k) = (200, 3), got (200, 2)" in by_name["E-step, k = 3"]
    assert (
        "estep: in EM iteration 1, estep should return shape (n, k) = (600, 4), got (600, 2)"
        in by_name["EM on synthetic data, k = 4"]
    )
    assert re.search(
        r"^\d+ of 20 checks failed\. At fault: GMM1D\.estep \(\d+\)\.$", run.stdout, re.M
    )


@pytest.mark.slow
def test_estep_that_changes_X_is_caught(tmp_path):
    sorts_X = "X.sort(axis=0)\n" + textwrap.dedent(NAIVE_ESTEP)
    run, lines = run_self_check(tmp_path, splice(sorts_X, NAIVE_MSTEP))
    assert run.returncode == 1
    assert any("estep must not modify X" in line for line in failing(lines))


# --- as strict as the contract: the step at fault, on first principles ------------------

X_SIZE = {k: 150 * k for k in range(2, 7)}  # the EM checks' data: 150 points per cluster
PRIORS_OVER_K = NAIVE_MSTEP.replace("n_j / X.shape[0]", "n_j / self.num_gaussians")


@pytest.mark.slow
def test_priors_divided_by_k_fail_and_the_mstep_is_blamed(tmp_path):
    """The measured miss: with priors = n_j / k the old self-check passed "EM on synthetic
    data" while the priors summed to 2.5 and the log-likelihood climbed to +1245."""
    assert PRIORS_OVER_K != NAIVE_MSTEP
    run, lines = run_self_check(tmp_path, splice(NAIVE_ESTEP, PRIORS_OVER_K))
    assert run.returncode == 1
    by_name = {line.split(":")[0][6:]: line for line in lines}
    for k in range(2, 7):
        em = by_name[f"EM on synthetic data, k = {k}"]
        assert em.startswith("FAIL") and "mstep: in EM iteration 1, expected the priors to sum " \
            f"to 1, they sum to {X_SIZE[k] / k:.10g}" in em, em  # fmt: skip
    for k in range(1, 7):  # 200 points, so the priors sum to 200 / k
        mstep = by_name[f"M-step, k = {k}"]
        assert f"mstep: expected the priors to sum to 1, they sum to {200 / k:.10g}" in mstep
        assert by_name[f"E-step, k = {k}"].startswith("PASS")
    assert re.search(r"^\d+ of 20 checks failed\. At fault: GMM1D\.mstep \(\d+\)\.$", run.stdout,
                     flags=re.M), run.stdout  # fmt: skip


@pytest.mark.slow
def test_variance_about_the_old_mean_fails_the_general_mstep_on_its_objective(tmp_path):
    old_mean = """
        n_j = gammas.sum(axis=0)
        self.variances = ((gammas * (X - self.mus.T) ** 2).sum(axis=0) / n_j).reshape(-1, 1)
        self.priors = (n_j / X.shape[0]).reshape(-1, 1)
        self.mus = ((gammas * X).sum(axis=0) / n_j).reshape(-1, 1)
    """
    run, lines = run_self_check(tmp_path, splice(NAIVE_ESTEP, old_mean))
    for k in range(1, 7):
        line = next(line for line in lines if line.startswith(f"FAIL  M-step, k = {k}:"))
        assert re.search(r"mstep: variances\[\d\] = [\d.]+ is not the best value for the given "
                         r"gammas: [\d.]+ gives a higher sum_ij gammas", line), line  # fmt: skip


@pytest.mark.slow
def test_an_mstep_that_recomputes_the_gammas_fails(tmp_path):
    recomputes = "gammas = self.estep(X)\n" + textwrap.dedent(NAIVE_MSTEP)
    run, lines = run_self_check(tmp_path, splice(NAIVE_ESTEP, recomputes))
    assert run.returncode == 1
    # For k = 1 every gammas is a column of ones, whoever computes it.
    for k in range(2, 7):
        line = next(line for line in lines if f"M-step, k = {k}:" in line)
        assert re.match(rf"FAIL  M-step, k = {k}: mstep: \w+\[\d\] = \S+ is not the best", line)
    assert "At fault: GMM1D.mstep" in run.stdout and "GMM1D.estep" not in run.stdout
