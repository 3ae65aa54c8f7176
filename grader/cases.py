"""The inputs the checks feed a submission: fixed, seeded and built to be fair.

Every case keeps each point's mixture density at least ``MIN_DENSITY`` under the parameters
used (for EM cases: all along the reference trajectory). A correct submission that adds
``EPSILON = 1e-12`` to its denominators, as the course's two-cluster hint does, then differs
from the reference by at most 1e-12 / 1e-6 = 1e-6 relative, inside every tolerance the checks
use; tests/test_cases.py proves the bound for every case.

Randomness comes from ``numpy.random.RandomState``, whose streams numpy keeps stable across
versions, so every grading of every submission sees the same numbers.

Shapes: ``X`` is ``(n_samples, 1)``; parameters are ``(n_components,)`` float arrays
(the sandbox stores them in whatever layout the student's constructor uses);
``gammas`` is ``(n_samples, n_components)``.
"""

from dataclasses import dataclass

import numpy as np

MIN_DENSITY = 1e-6


@dataclass(frozen=True)
class Params:
    """Mixture parameters, each an ``(n_components,)`` float array."""

    priors: np.ndarray
    mus: np.ndarray
    variances: np.ndarray

    @classmethod
    def of(cls, priors, mus, variances):
        return cls(*(np.array(v, dtype=float).ravel() for v in (priors, mus, variances)))

    @property
    def k(self) -> int:
        return self.priors.size

    def as_dict(self) -> dict:
        return {"priors": self.priors, "mus": self.mus, "variances": self.variances}


@dataclass(frozen=True)
class EstepCase:
    name: str
    X: np.ndarray  # (n_samples, 1)
    params: Params


@dataclass(frozen=True)
class MstepCase:
    name: str
    X: np.ndarray  # (n_samples, 1)
    gammas: np.ndarray  # (n_samples, n_components), made by the grader, not by any estep
    params: Params  # the model's parameters before the M-step


@dataclass(frozen=True)
class EmCase:
    name: str
    X: np.ndarray  # (n_samples, 1)
    start: Params
    iterations: int


def column(values) -> np.ndarray:
    return np.array(values, dtype=float).reshape(-1, 1)


def component_densities(X, mus, variances) -> np.ndarray:
    """N(x_i | mu_j, var_j): ``(n_samples, n_components)`` from (k,) means and variances."""
    x = np.asarray(X, dtype=float).reshape(-1, 1)
    return np.exp(-((x - mus) ** 2) / (2 * variances)) / np.sqrt(2 * np.pi * variances)


def mixture_density(X, params: Params) -> np.ndarray:
    """p(x_i) for each point: ``(n_samples,)``."""
    return component_densities(X, params.mus, params.variances) @ params.priors


# ---------------------------------------------------------------- fixed, published data

WORKED_EXAMPLE = EstepCase(
    'the worked example of the handout (6.86x "An Example Update")',
    column([0.2, -0.9, -1.0, 1.2, 1.8]),
    Params.of([0.5, 0.5], [-3.0, 2.0], [4.0, 4.0]),
)

EXERCISE_EM = EmCase(
    'the 5 points of the exercise "EM Algorithm", k = 2',
    column([-1.0, 0.0, 4.0, 5.0, 6.0]),
    Params.of([0.5, 0.5], [6.0, 7.0], [1.0, 4.0]),
    iterations=30,
)


# ---------------------------------------------------------------- generated data


def random_params(rng, k) -> Params:
    """Unequal priors and variances, means spread so components overlap partly."""
    priors = rng.dirichlet(np.full(k, 3.0))
    priors = (priors + 0.05) / (priors + 0.05).sum()
    mus = np.sort(rng.uniform(-1.0, 1.0, k) + 2.2 * np.arange(k) - 1.1 * (k - 1))
    variances = rng.uniform(0.4, 2.5, k)
    return Params(priors, mus, variances)


def sample(rng, params: Params, n, floor=MIN_DENSITY * 100) -> np.ndarray:
    """``(n, 1)`` points drawn from the mixture, redrawing any with density below ``floor``."""
    out = np.empty(0)
    while out.size < n:
        comp = rng.choice(params.k, size=n, p=params.priors)
        x = rng.normal(params.mus[comp], np.sqrt(params.variances[comp]))
        out = np.concatenate([out, x[mixture_density(x, params) >= floor]])
    return column(out[:n])


def _estep_case(seed, k, n, label):
    rng = np.random.RandomState(seed)
    params = random_params(rng, k)
    return EstepCase(f"{label}, k = {k}, n = {n}", sample(rng, params, n), params)


def shape_cases():
    """(n, k) = (7, 1), (40, 2), (100, 3), (25, 5)."""
    return [_estep_case(100 + k, k, n, "shape") for n, k in ((7, 1), (40, 2), (100, 3), (25, 5))]


def pmf_cases():
    return [_estep_case(200 + k, k, 60, "rows") for k in range(1, 7)]


def value_cases():
    return [_estep_case(300 + k, k, 80, "values") for k in range(1, 7)]


def purity_case():
    return _estep_case(400, 3, 30, "purity")


def mstep_cases():
    """k = 1..6: gammas are random rows (not any model's posterior), soft counts >= 2."""
    cases = []
    for k in range(1, 7):
        rng = np.random.RandomState(500 + k)
        truth = random_params(rng, k)
        n = 60
        X = sample(rng, truth, n)
        gammas = rng.dirichlet(np.ones(k), size=n)
        while k > 1 and gammas.sum(axis=0).min() < 2.0:
            gammas = rng.dirichlet(np.ones(k), size=n)
        before = random_params(rng, k)
        cases.append(MstepCase(f"M-step, k = {k}, n = {n}", X, gammas, before))
    return cases


def alternative_gammas(case: MstepCase) -> np.ndarray:
    """A second, different gammas for the same case (to see that mstep reads its input)."""
    if case.params.k == 1:
        return case.gammas.copy()
    return np.roll(case.gammas, 1, axis=1)


def _notebook_em():
    """The two-component notebook exercise: mu = (-2.5, 3.5), var = (4, 4), P(c1) = 0.4,
    40 points, EM started from mu = (-0.5, 0.5), sd = (1, 1), priors (0.5, 0.5). The seed is
    one whose draw keeps every point's density >= MIN_DENSITY at that narrow start."""
    rng = np.random.RandomState(NOTEBOOK_SEED)
    comp = (rng.uniform(size=40) >= 0.4).astype(int)
    x = rng.normal(np.array([-2.5, 3.5])[comp], 2.0)
    return EmCase(
        "40 points from two Gaussians (means -2.5 and 3.5, variance 4), k = 2",
        column(x),
        Params.of([0.5, 0.5], [-0.5, 0.5], [1.0, 1.0]),
        iterations=30,
    )


NOTEBOOK_SEED = 922


def _synthetic_em(seed, k, n):
    rng = np.random.RandomState(seed)
    truth = random_params(rng, k)
    truth = Params(truth.priors, truth.mus * 1.6, truth.variances)
    X = sample(rng, truth, n)
    start = Params(
        np.full(k, 1.0 / k),
        truth.mus + rng.uniform(-0.8, 0.8, k),
        np.full(k, float(np.var(X)) / k),
    )
    return EmCase(f"synthetic data, k = {k}, n = {n}", X, start, iterations=30)


def em_cases():
    return [EXERCISE_EM, _notebook_em(), _synthetic_em(603, 3, 150), _synthetic_em(606, 6, 300)]
