"""The inputs the checks feed a submission: the published examples, fixed, and generated
cases keyed to the graded file, all built to be fair.

**Keyed.** A :class:`CaseSet` draws every generated case from its own seed, derived with
HMAC-SHA256 from the grading's key (grader/secret.py: the course secret and the sha256 of
the file's bytes) and the case's name. The same file and secret give the same inputs, so a
regrade reproduces exactly what Gradescope gave; any other bytes (one added comment) give
other inputs, so answers collected from earlier feedback match nothing. The published
examples (the 6.86x worked example, the exercise "EM Algorithm" and the 40-point data of the
course) stay fixed: students have them anyway. Randomness comes from
``numpy.random.RandomState``, whose streams numpy keeps stable across versions.

**Fair for every seed**, by construction or by redrawing, never by luck (tests/test_cases_fair.py
and test_cases_fair_more.py check these over a thousand keys):

* every point's mixture density is at least ``MIN_DENSITY`` under the case's parameters (for
  EM cases: all along the reference trajectory, start included). A correct submission that
  adds ``EPSILON = 1e-12`` to its denominators, as the course's hint does, then differs from
  the reference by at most 1e-12 / 1e-6 = 1e-6 relative, inside every tolerance;
* components are distinct and well conditioned: priors at least 0.03, variances in [0.4,
  2.5], neighbouring means at least 0.2 apart; the priors of a k >= 2 E-step case differ
  by at least 0.02 and its variances are not all near 1, so a bug in either shows;
* every M-step case's soft counts are at least 2 and its old means differ from the new ones
  (by at least 0.05), so the variance about the old means shows; along an EM trajectory the
  soft counts stay at least 2 and the variances above ``MIN_EM_VARIANCE`` (no collapse);
* every k of ``K_VALUES`` is covered.

Shapes: ``X`` is ``(n_samples, 1)``; parameters are ``(n_components,)`` float arrays
(the sandbox stores them in whatever layout the student's constructor uses);
``gammas`` is ``(n_samples, n_components)``.
"""

import functools
import hmac
from dataclasses import dataclass

import numpy as np

# The lab's contract: GMM1D's attributes that hold the parameters (the worker is told them).
PARAM_NAMES = ("priors", "mus", "variances")
PARAM_LABELS = dict(zip(PARAM_NAMES, ("priors", "means", "variances")))  # as feedback says them
# The lab's facts, each spelled once: the numbers of clusters every step is checked for,
# and the sizes of the E-step shape cases; the checks' texts are built from these.
K_VALUES = range(1, 7)
K_TEXT = f"k = {K_VALUES[0]}..{K_VALUES[-1]}"
SHAPE_SIZES = ((7, 1), (40, 2), (100, 3), (25, 5))  # (n, k)
SHAPE_TEXT = ", ".join(f"({n}, {k})" for n, k in SHAPE_SIZES)
MIN_DENSITY = 1e-6
MIN_EM_VARIANCE = 0.05
MAX_DRAWS = 200  # redraws before giving up, which would be a bug of ours (never seen)


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
        return {name: getattr(self, name) for name in PARAM_NAMES}


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


def textbook_mstep(X, gammas) -> Params:
    """The M-step's formulas (for fairness only: every expected value the checks use comes
    from solution/gmm1d.py)."""
    x = np.asarray(X, dtype=float).reshape(-1, 1)
    n_k = gammas.sum(axis=0)
    mus = (gammas * x).sum(axis=0) / n_k
    return Params(n_k / x.shape[0], mus, (gammas * (x - mus) ** 2).sum(axis=0) / n_k)


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
    """Unequal priors and variances, means spread so components overlap partly: priors
    >= 0.05 / 1.3 > 0.03, variances in [0.4, 2.5], neighbouring means >= 0.2 apart."""
    priors = rng.dirichlet(np.full(k, 3.0))
    priors = (priors + 0.05) / (priors + 0.05).sum()
    mus = np.sort(rng.uniform(-1.0, 1.0, k) + 2.2 * np.arange(k) - 1.1 * (k - 1))
    variances = rng.uniform(0.4, 2.5, k)
    return Params(priors, mus, variances)


def distinct(params: Params) -> bool:
    """A bug in the priors or the variances changes the posteriors of a k >= 2 case."""
    if params.k == 1:
        return True
    unequal = np.ptp(params.priors) >= 0.02
    return bool(unequal and np.abs(params.variances - 1.0).max() >= 0.1)


def sample(rng, params: Params, n, floor=MIN_DENSITY * 100) -> np.ndarray:
    """``(n, 1)`` points drawn from the mixture, redrawing any with density below ``floor``."""
    cdf = np.cumsum(params.priors)
    out = np.empty(0)
    while out.size < n:
        # Each point's component: what rng.choice(k, n, p=priors) draws, without its checks.
        comp = np.minimum(np.searchsorted(cdf / cdf[-1], rng.random_sample(n), "right"),
                          params.k - 1)  # fmt: skip
        x = rng.normal(params.mus[comp], np.sqrt(params.variances[comp]))
        out = np.concatenate([out, x[mixture_density(x, params) >= floor]])
    return column(out[:n])


def em_fair(case) -> bool:
    """Every point's density >= MIN_DENSITY, soft counts >= 2 and variances above
    MIN_EM_VARIANCE at every step of a textbook EM run from ``case.start`` (start included).
    One pass on bare arrays, in place where it can be: this runs for every grading, so it is
    kept to a few milliseconds."""
    x = case.X.reshape(-1, 1)
    priors, mus, variances = case.start.priors, case.start.mus, case.start.variances
    min_count = 2.0 if case.start.k > 1 else 0.0
    for step in range(case.iterations + 1):
        if variances.min() <= MIN_EM_VARIANCE:
            return False
        joint = x - mus  # becomes log(prior_j N(x_i | mu_j, var_j)), then its exp: (n, k)
        joint *= joint
        joint *= -0.5 / variances
        joint += np.log(priors) - 0.5 * np.log(2 * np.pi * variances)
        np.exp(joint, out=joint)
        density = joint.sum(axis=1)
        if density.min() < MIN_DENSITY:
            return False
        joint /= density[:, None]  # the posteriors
        n_k = joint.sum(axis=0)
        if n_k.min() < min_count:
            return False
        if step < case.iterations:
            mus = (x.T @ joint)[0] / n_k
            spread = x - mus
            spread *= spread
            spread *= joint
            variances = spread.sum(axis=0) / n_k
            priors = n_k / x.shape[0]
    return True


def _redrawn(draw, fair, what):
    for _ in range(MAX_DRAWS):
        candidate = draw()
        if fair(candidate):
            return candidate
    raise RuntimeError(f"no fair {what} in {MAX_DRAWS} draws (a bug in grader/cases.py)")


class CaseSet:
    """The generated inputs of one grading, drawn from seeds keyed to ``key`` (32 bytes,
    grader/secret.py's grading_key). Each case is built once, on first use."""

    def __init__(self, key: bytes):
        self.key = bytes(key)
        self._stream = np.random.RandomState()  # reseeded per case: building one costs 0.5 ms

    def rng(self, name) -> np.random.RandomState:
        """The case's own stream, seeded with HMAC-SHA256(key, name) as eight 32-bit words:
        exactly ``RandomState(words)``. It is one generator, reseeded by every call, so a
        case is drawn whole before the next case's ``rng``."""
        digest = hmac.new(self.key, name.encode("utf-8"), "sha256").digest()
        self._stream.seed(np.frombuffer(digest, dtype="<u4"))
        return self._stream

    def _estep_case(self, k, n, label):
        name = f"{label}, k = {k}, n = {n}"
        rng = self.rng(name)
        params = _redrawn(lambda: random_params(rng, k), distinct, name)
        return EstepCase(name, sample(rng, params, n), params)

    @functools.cached_property
    def shape_cases(self):
        """(n, k) in SHAPE_SIZES."""
        return [self._estep_case(k, n, "shape") for n, k in SHAPE_SIZES]

    @functools.cached_property
    def pmf_cases(self):
        return [self._estep_case(k, 60, "rows") for k in K_VALUES]

    @functools.cached_property
    def value_cases(self):
        return [self._estep_case(k, 80, "values") for k in K_VALUES]

    @functools.cached_property
    def purity_case(self):
        return self._estep_case(3, 30, "purity")

    @functools.cached_property
    def mstep_cases(self):
        """One per k of K_VALUES: gammas are random rows (not any model's posterior), soft
        counts >= 2, and the old means differ from the new ones."""
        cases = []
        for k in K_VALUES:
            n = 60
            name = f"M-step, k = {k}, n = {n}"
            rng = self.rng(name)

            def draw(rng=rng, k=k, n=n, name=name):
                X = sample(rng, random_params(rng, k), n)
                gammas = rng.dirichlet(np.ones(k), size=n)
                return MstepCase(name, X, gammas, random_params(rng, k))

            def fair(case):
                counts = case.gammas.sum(axis=0)
                moved = np.abs(textbook_mstep(case.X, case.gammas).mus - case.params.mus)
                return (counts.min() >= 2.0 or case.params.k == 1) and moved.min() >= 0.05

            cases.append(_redrawn(draw, fair, name))
        return cases

    def _synthetic_em(self, k, n):
        name = f"synthetic data, k = {k}, n = {n}"
        rng = self.rng(name)

        def draw():
            truth = random_params(rng, k)
            truth = Params(truth.priors, truth.mus * 1.6, truth.variances)
            X = sample(rng, truth, n)
            start = Params(
                np.full(k, 1.0 / k),
                truth.mus + rng.uniform(-0.8, 0.8, k),
                np.full(k, float(np.var(X)) / k),
            )
            return EmCase(name, X, start, iterations=30)

        return _redrawn(draw, em_fair, name)

    @functools.cached_property
    def em_cases(self):
        return [EXERCISE_EM, NOTEBOOK_EM, self._synthetic_em(3, 150), self._synthetic_em(6, 300)]

    def generated(self):
        """Every generated case, for the fairness tests."""
        em = self.em_cases[2:]
        return [*self.shape_cases, *self.pmf_cases, *self.value_cases, self.purity_case,
                *self.mstep_cases, *em]  # fmt: skip


def alternative_gammas(case: MstepCase) -> np.ndarray:
    """A second, different gammas for the same case (to see that mstep reads its input)."""
    if case.params.k == 1:
        return case.gammas.copy()
    return np.roll(case.gammas, 1, axis=1)


NOTEBOOK_SEED = 922


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


NOTEBOOK_EM = _notebook_em()
