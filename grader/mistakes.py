"""The common mistakes the grader can name, as declared data: one table, :data:`TABLE`
(grader/diagnosis.py's ``MISTAKES`` maps each key to its advice).

Each entry: its key (results.json's ``extra_data.mistakes``, counted by the class report),
the step and the outputs it concerns (what a check judges: "gammas", a parameter name,
"estep_effects", "mstep_arguments", "loglik"), the advice the student reads, how to
reproduce it (``answers``: what code making exactly this mistake returns, computed here
from a case's inputs and the reference's answer) or how it shows directly (``sign``: what
the check saw, e.g. an argument changed), the mistakes it outranks, and whether code making
it still computes from its inputs (the evidence checks/__init__.py's ``shows_work``
accepts). How a check's failing cases are judged against this table: grader/diagnosis.py.
Nothing here runs student code.

Shapes: ``X`` ``(n_samples, 1)``; parameters ``(n_components,)``; gammas and posteriors
``(n_samples, n_components)``; ``s`` is a diagnosis.Situation.
"""

import itertools
from dataclasses import dataclass

import numpy as np

from grader.cases import PARAM_NAMES, component_densities, textbook_mstep

UNIQUE, WEAK, NO = 2, 1, 0  # what one failing case says of a mistake
MATCH_ATOL = 1e-5
MATCH_RTOL = 1e-4


@dataclass(frozen=True)
class Mistake:
    key: str
    step: str  # "estep", "mstep" or "em"
    outputs: tuple  # the Situation outputs it concerns
    advice: str
    answers: object = None  # Situation -> [array, ...]: what code making it returns
    sign: object = None  # Situation -> UNIQUE / WEAK / NO: how it shows without an answer
    outranks: tuple = ()  # keys it hides when both are named (or both explain a case)
    computes: bool = True  # code making it computes from its inputs (registry.py's evidence)


TABLE = {}  # key -> Mistake, in declaration order


def _declare(key, step, outputs, advice, **how):
    TABLE[key] = Mistake(key, step, tuple(outputs), advice, **how)
    return key


def matches(got, candidate) -> bool:
    """True when ``got`` (the student's array) reproduces ``candidate``."""
    if got is None or candidate is None:
        return False
    got = np.asarray(got, dtype=float)
    candidate = np.asarray(candidate, dtype=float)
    return (
        got.shape == candidate.shape
        and bool(np.all(np.isfinite(got)))
        and bool(np.allclose(got, candidate, atol=MATCH_ATOL, rtol=MATCH_RTOL))
    )


def _fact(name):
    return lambda s: UNIQUE if name in s.facts else NO


# ---------------------------------------------------------------- E-step


def _posterior(joint):
    with np.errstate(all="ignore"):
        return joint / joint.sum(axis=1, keepdims=True)


def _densities(s, variances=None):
    p = s.params
    return component_densities(s.X, p.mus, p.variances if variances is None else variances)


def _joint(s):
    return s.params.priors * _densities(s)


def _estep_answer(make):
    def answers(s):
        with np.errstate(all="ignore"):
            return [make(s)]

    return answers


def _transposed(s):
    got = s.got
    shape = np.shape(got) if got is not None else None
    n = np.shape(s.X)[0]
    return UNIQUE if shape == (s.k, n) and s.k != n else NO


def _two_clusters_result(s):
    """Code for two clusters raises on k = 1 (no second column) and returns two columns or
    two numbers for k >= 3."""
    if s.k == 2:
        return NO
    if s.got is None:
        return WEAK
    shape = np.shape(s.got)
    if s.output == "gammas":
        return UNIQUE if len(shape) == 2 and shape[1] == 2 else NO
    return UNIQUE if np.size(s.got) == 2 else NO


def _two_clusters_answers(s):
    """On k = 2 the right answer; an M-step for k >= 3 updates clusters 1 and 2 (each
    reads only its own column) and leaves the rest as they were."""
    if s.k == 2:
        return [s.right]
    if s.output in PARAM_NAMES and s.k > 2:
        partial = np.array(getattr(s.params, s.output), dtype=float)
        partial[:2] = np.ravel(s.right)[:2]
        return [partial]
    return []


TRANSPOSED = _declare(
    "transposed", "estep", ["gammas"],
    "your E-step returns the transpose, shape (k, n); rows must be points, columns clusters",
    sign=_transposed,
)  # fmt: skip
PRIORS_IGNORED = _declare(
    "priors_ignored", "estep", ["gammas"],
    "your posteriors match what you get when the priors are left out: multiply each density "
    "by its prior",
    answers=_estep_answer(lambda s: _posterior(_densities(s))),
)  # fmt: skip
WRONG_AXIS = _declare(
    "wrong_axis", "estep", ["gammas"],
    "you normalised over the points (each column sums to 1); normalise each row over the "
    "clusters",
    answers=_estep_answer(lambda s: _joint(s) / _joint(s).sum(axis=0, keepdims=True)),
)  # fmt: skip
NOT_NORMALISED = _declare(
    "not_normalised", "estep", ["gammas"],
    "you return prior x density without dividing by the row sum p(x_i)",
    answers=_estep_answer(_joint),
)  # fmt: skip
SQRT_VARIANCE_IN_DENSITY = _declare(
    "sqrt_variance_in_density", "estep", ["gammas"],
    "your E-step's density uses the standard deviation sqrt(var) where the variance belongs: "
    "N(x | mu, var) = exp(-(x - mu)^2 / (2 var)) / sqrt(2 pi var), with var = self.variances",
    answers=_estep_answer(
        lambda s: _posterior(s.params.priors * _densities(s, np.sqrt(s.params.variances)))
    ),
)  # fmt: skip
LOG_POSTERIORS = _declare(
    "log_posteriors", "estep", ["gammas"],
    "your E-step returns log-probabilities (each at most 0): return the probabilities "
    "themselves (np.exp of your log values)",
    answers=_estep_answer(lambda s: np.log(_posterior(_joint(s)))),
)  # fmt: skip
MUTATES_X = _declare(
    "mutates_X", "estep", ["estep_effects"],
    "estep changed X in place: work on a copy (e.g. X - mu makes a new array; X -= mu does not)",
    sign=_fact("X_changed"),
)  # fmt: skip
MUTATES_PARAMS = _declare(
    "mutates_params", "estep", ["estep_effects"],
    "estep changed the model's priors/mus/variances: only mstep may update them",
    sign=_fact("params_changed"),
)  # fmt: skip

# ---------------------------------------------------------------- M-step


def _counts(s):
    return s.gammas.sum(axis=0)


def _x(s):
    return np.asarray(s.X, dtype=float).reshape(-1, 1)


def _spread(s, centre, over):
    with np.errstate(all="ignore"):
        return (s.gammas * (_x(s) - np.ravel(centre)) ** 2).sum(axis=0) / over


def _mstep_answer(**per_param):
    """answers(s) from one function per parameter (parameters not named: no answer)."""

    def answers(s):
        make = per_param.get(s.output)
        with np.errstate(all="ignore"):
            return list(make(s)) if make is not None else []

    return answers


def _mus_div_n(s):
    return (s.gammas * _x(s)).sum(axis=0) / _x(s).shape[0]


def _right(s, name):
    """The textbook M-step's ``name`` on the case (a means answer, when judging variances)."""
    return getattr(textbook_mstep(s.X, s.gammas), name)


def _own_gammas(s):
    """The M-step of the gammas the model's own E-step gives (code that calls estep)."""
    p = s.params
    posterior = _posterior(p.priors * component_densities(s.X, p.mus, p.variances))
    return [getattr(textbook_mstep(s.X, posterior), s.output)]


def _stale(s):
    """Some clusters keep the value they had before (a loop that skips them): for k = 1,
    all of it, as for an M-step that stores nothing."""
    before, right = np.ravel(getattr(s.params, s.output)), np.ravel(s.right)
    if s.k == 1:
        return [before]
    found = []
    for size in range(1, s.k):
        for kept in itertools.combinations(range(s.k), size):
            candidate = right.copy()
            candidate[list(kept)] = before[list(kept)]
            found.append(candidate)
    return found


def _unchanged(s):
    return {name: np.array_equal(s.stored.get(name), np.ravel(getattr(s.params, name)))
            for name in PARAM_NAMES}  # fmt: skip


def _kept_all(s):
    return [getattr(s.params, s.output)] if all(_unchanged(s).values()) else []


def _kept_this(s):
    unchanged = _unchanged(s)
    return [getattr(s.params, s.output)] if not all(unchanged.values()) else []


def _variance_about_stored_means(s):
    mus = s.stored.get("mus")
    if mus is None or np.size(mus) != s.k or matches(mus, _right(s, "mus")):
        return []
    return [_spread(s, mus, _counts(s))]


PRIORS_NOT_NORMALISED = _declare(
    "priors_not_normalised", "mstep", ["priors"],
    "your priors are the column SUMS of gammas: divide by n (the column mean)",
    answers=_mstep_answer(priors=lambda s: [_counts(s)]),
)  # fmt: skip
PRIORS_DIVIDED_BY_K = _declare(
    "priors_divided_by_k", "mstep", ["priors"],
    "your priors are the soft counts divided by k, the number of clusters: divide by n, the "
    "number of points (the column mean of gammas), so that they sum to 1",
    answers=_mstep_answer(priors=lambda s: [_counts(s) / s.k]),
)  # fmt: skip
DIVIDE_BY_N = _declare(
    "divide_by_n", "mstep", ["mus", "variances"],
    "you divide by n, the number of points, where the soft count N_j = sum_i gamma_ij belongs",
    answers=_mstep_answer(
        mus=lambda s: [_mus_div_n(s)],
        variances=lambda s: [_spread(s, _right(s, "mus"), _x(s).shape[0]),
                             _spread(s, _mus_div_n(s), _x(s).shape[0])],
    ),
)  # fmt: skip
VARIANCE_OLD_MEAN = _declare(
    "variance_old_mean", "mstep", ["variances"],
    "your variances are spread about the OLD means: compute the new means first and use them",
    answers=_mstep_answer(variances=lambda s: [_spread(s, s.params.mus, _counts(s))]),
)  # fmt: skip
UNBIASED_VARIANCE = _declare(
    "unbiased_variance", "mstep", ["variances"],
    "you divide the variance by N_j - 1: the maximum-likelihood variance divides by N_j",
    answers=_mstep_answer(variances=lambda s: [_spread(s, _right(s, "mus"), _counts(s) - 1)]),
)  # fmt: skip
STD_AS_VARIANCE = _declare(
    "std_as_variance", "mstep", ["gammas", "variances"],
    "a variance is used where a standard deviation belongs (or the reverse): e.g. "
    "norm.pdf(x, mu, var) takes the standard deviation sqrt(var), and variances must not be "
    "square-rooted",
    answers=lambda s: (
        [_posterior(s.params.priors * _densities(s, s.params.variances**2))]
        if s.output == "gammas" else [np.sqrt(np.ravel(s.right))]
    ),
)  # fmt: skip
MEANS_VARIANCES_SWAPPED = _declare(
    "means_variances_swapped", "mstep", ["mus", "variances"],
    "your M-step stores the new variances in self.mus and the new means in self.variances: "
    "swap them",
    answers=_mstep_answer(mus=lambda s: [_right(s, "variances")],
                          variances=lambda s: [_right(s, "mus")]),
    outranks=("nonpositive_variance",),
)  # fmt: skip
VARIANCE_FROM_WRONG_MEANS = _declare(
    "variance_from_wrong_means", "mstep", ["variances"],
    "your variances are right for the means you stored, but those means are wrong: fix the "
    "means first",
    answers=_mstep_answer(variances=_variance_about_stored_means),
)  # fmt: skip
IGNORES_GIVEN_GAMMAS = _declare(
    "ignores_given_gammas", "mstep", [*PARAM_NAMES, "mstep_arguments"],
    "your M-step recomputes its own responsibilities: use the gammas argument it is given",
    answers=lambda s: _own_gammas(s) if s.output in PARAM_NAMES else [],
    sign=_fact("same_for_other_gammas"),
)  # fmt: skip
TWO_CLUSTERS = _declare(
    "two_clusters_hardcoded", "estep+mstep", ["gammas", *PARAM_NAMES],
    "your code handles exactly two clusters; it must work for any k = num_gaussians",
    answers=_two_clusters_answers, sign=_two_clusters_result,
    outranks=("clusters_not_updated",),
)  # fmt: skip
CLUSTERS_NOT_UPDATED = _declare(
    "clusters_not_updated", "mstep", PARAM_NAMES,
    "some clusters keep the values they had before mstep: your loop must update every "
    "cluster j = 0 .. k - 1 (check its range)",
    answers=_stale,
)  # fmt: skip
PARAMETER_NOT_UPDATED = _declare(
    "parameter_not_updated", "mstep", PARAM_NAMES,
    "your mstep stores new values for some parameters but leaves this one as it was: "
    "compute and store all three (self.priors, self.mus and self.variances)",
    answers=_kept_this, computes=False,
)  # fmt: skip
STORED_NOTHING = _declare(
    "mstep_stored_nothing", "mstep", [*PARAM_NAMES, "mstep_arguments"],
    "after your mstep the parameters are exactly what they were before: it must store its "
    "results on the model (self.priors = ...), not only in local variables or a return value",
    answers=lambda s: _kept_all(s) if s.output in PARAM_NAMES else [],
    sign=_fact("stored_nothing"), computes=False,
)  # fmt: skip
NONPOSITIVE_VARIANCE = _declare(
    "nonpositive_variance", "mstep", ["variances"],
    "a variance must be positive: a squared deviation is never negative, so check the "
    "formula (and that the means are not stored in self.variances)",
    sign=lambda s: UNIQUE if s.got is not None and np.any(np.asarray(s.got) <= 0) else NO,
    computes=False,
)  # fmt: skip
MUTATES_INPUTS = _declare(
    "mutates_inputs", "mstep", ["mstep_arguments"],
    "mstep changed X or gammas in place: work on copies",
    sign=_fact("argument_changed"),
)  # fmt: skip
LOGLIK_DECREASED = _declare(
    "loglik_decreased", "em", ["loglik"],
    "the log-likelihood fell during EM, which correct EM in float64 never does (if you compute "
    "in float32, rounding alone can make it dip near convergence)",
    sign=_fact("fell"),
)  # fmt: skip
