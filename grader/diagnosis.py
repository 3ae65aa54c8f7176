"""Common mistakes, recognised by reproducing them.

For each mistake we compute, in the grader's own process, what a submission making exactly
that mistake would return, and compare the student's answer with it. A match names the
mistake in the feedback (and in ``extra_data.mistakes`` of results.json, which the class
report counts). Nothing here runs student code.

Shapes: ``X`` ``(n_samples, 1)``; parameters ``(n_components,)``; gammas and posteriors
``(n_samples, n_components)``.
"""

import numpy as np

from grader.cases import component_densities, textbook_mstep
from grader.feedback import escape

# Every mistake the grader can name is declared here, once: its key (in results.json's
# extra_data.mistakes, counted by the class report) and what the student is told.
MISTAKES = {}


def _mistake(key, advice):
    MISTAKES[key] = advice
    return key


TRANSPOSED = _mistake(
    "transposed",
    "your E-step returns the transpose, shape (k, n); rows must be points, columns clusters",
)
PRIORS_IGNORED = _mistake(
    "priors_ignored",
    "your posteriors match what you get when the priors are left out: "
    "multiply each density by its prior",
)
WRONG_AXIS = _mistake(
    "wrong_axis",
    "you normalised over the points (each column sums to 1); normalise each row over the clusters",
)
NOT_NORMALISED = _mistake(
    "not_normalised", "you return prior x density without dividing by the row sum p(x_i)"
)
STD_AS_VARIANCE = _mistake(
    "std_as_variance",
    "a variance is used where a standard deviation belongs (or the reverse): e.g. "
    "norm.pdf(x, mu, var) takes the standard deviation sqrt(var), and variances must not be "
    "square-rooted",
)
TWO_CLUSTERS = _mistake(
    "two_clusters_hardcoded",
    "your code handles exactly two clusters; it must work for any k = num_gaussians",
)
MUTATES_X = _mistake(
    "mutates_X",
    "estep changed X in place: work on a copy (e.g. X - mu makes a new array; X -= mu does not)",
)
MUTATES_PARAMS = _mistake(
    "mutates_params", "estep changed the model's priors/mus/variances: only mstep may update them"
)
VARIANCE_OLD_MEAN = _mistake(
    "variance_old_mean",
    "your variances are spread about the OLD means: compute the new means first and use them",
)
DIVIDE_BY_N = _mistake(
    "divide_by_n",
    "you divide by n, the number of points, where the soft count N_j = sum_i gamma_ij belongs",
)
UNBIASED_VARIANCE = _mistake(
    "unbiased_variance",
    "you divide the variance by N_j - 1: the maximum-likelihood variance divides by N_j",
)
PRIORS_NOT_NORMALISED = _mistake(
    "priors_not_normalised",
    "your priors are the column SUMS of gammas: divide by n (the column mean)",
)
IGNORES_GIVEN_GAMMAS = _mistake(
    "ignores_given_gammas",
    "your M-step recomputes its own responsibilities: use the gammas argument it is given",
)
MUTATES_INPUTS = _mistake("mutates_inputs", "mstep changed X or gammas in place: work on copies")
LOGLIK_DECREASED = _mistake(
    "loglik_decreased",
    "the log-likelihood fell during EM, which correct EM in float64 never does (if you compute "
    "in float32, rounding alone can make it dip near convergence)",
)
SQRT_VARIANCE_IN_DENSITY = _mistake(
    "sqrt_variance_in_density",
    "your E-step's density uses the standard deviation sqrt(var) where the variance belongs: "
    "N(x | mu, var) = exp(-(x - mu)^2 / (2 var)) / sqrt(2 pi var), with var = self.variances",
)
LOG_POSTERIORS = _mistake(
    "log_posteriors",
    "your E-step returns log-probabilities (each at most 0): return the probabilities "
    "themselves (np.exp of your log values)",
)
MEANS_VARIANCES_SWAPPED = _mistake(
    "means_variances_swapped",
    "your M-step stores the new variances in self.mus and the new means in self.variances: "
    "swap them",
)
NONPOSITIVE_VARIANCE = _mistake(
    "nonpositive_variance",
    "a variance must be positive: a squared deviation is never negative, so check the "
    "formula (and that the means are not stored in self.variances)",
)
VARIANCE_FROM_WRONG_MEANS = _mistake(
    "variance_from_wrong_means",
    "your variances are right for the means you stored, but those means are wrong: fix the "
    "means first",
)
CLUSTERS_NOT_UPDATED = _mistake(
    "clusters_not_updated",
    "some clusters keep the values they had before mstep: your loop must update every "
    "cluster j = 0 .. k - 1 (check its range)",
)
STORED_NOTHING = _mistake(
    "mstep_stored_nothing",
    "after your mstep the parameters are exactly what they were before: it must store its "
    "results on the model (self.priors = ...), not only in local variables or a return value",
)


def shape_mistakes(shape, n, k) -> list:
    """What a wrong E-step result shape says: transposed, or built for two clusters."""
    found = []
    if tuple(shape) == (k, n) and k != n:
        found.append(TRANSPOSED)
    if k != 2 and len(shape) == 2 and shape[1] == 2:
        found.append(TWO_CLUSTERS)
    return found


def size_mistakes(size, k) -> list:
    """What a parameter holding ``size`` numbers where ``k`` belong says."""
    return [TWO_CLUSTERS] if size == 2 and k != 2 else []


def recurring(per_case) -> list:
    """The mistakes of ``per_case`` (one list per failing case) that recur: named in at least
    half as many cases as the most-named one. A mistake whose answer happens to lie within
    tolerance of the student's on one case (an old mean close enough that the variance about
    it equals the unbiased one) is a coincidence when another explains every case."""
    counts = {}
    for keys in per_case:
        for key in dict.fromkeys(keys):
            counts[key] = counts.get(key, 0) + 1
    top = max(counts.values(), default=0)
    return [key for key, count in counts.items() if 2 * count >= top]


def reconcile_k(mistakes, failed_k, all_k) -> list:
    """``mistakes`` seen case by case, reconciled with the pattern of failing k: failing
    exactly the cases with k != 2 means the code was written for two clusters; failing the
    k = 2 case too means it was not (a loop that stops one cluster short looks the same for
    k = 3, but fails k = 1 and 2 as well)."""
    failed_k, all_k = set(failed_k), set(all_k)
    found = list(dict.fromkeys(mistakes))
    if 2 in all_k and 2 not in failed_k and failed_k == all_k - {2}:
        found.append(TWO_CLUSTERS)
    elif 2 in failed_k:
        found = [key for key in found if key != TWO_CLUSTERS]
    if TWO_CLUSTERS in found:  # two clusters right, the rest wrong: not a loop range's fault
        found = [key for key in found if key != CLUSTERS_NOT_UPDATED]
    if CLUSTERS_NOT_UPDATED in found:  # a loop that skips the last cluster skips all of k = 1
        found = [key for key in found if key != STORED_NOTHING]
    if MEANS_VARIANCES_SWAPPED in found:  # negative "variances" are then the means, if any is
        found = [key for key in found if key != NONPOSITIVE_VARIANCE]
    return list(dict.fromkeys(found))


def stale_clusters(got, before, expected) -> list:
    """1-based numbers of the clusters whose value ``got`` kept from ``before`` while every
    other cluster, one at least, got the right value (a loop that skips clusters); [] when
    that is not the pattern (nothing updated at all is :func:`stored_nothing`)."""
    got, before, expected = (np.asarray(a, dtype=float).ravel() for a in (got, before, expected))
    if not (got.shape == before.shape == expected.shape) or not np.all(np.isfinite(got)):
        return []
    right = np.isclose(got, expected, atol=_MATCH_ATOL, rtol=_MATCH_RTOL)
    unchanged = np.isclose(got, before, atol=_MATCH_ATOL, rtol=_MATCH_RTOL)
    kept = unchanged & ~right
    # Updated: right and moved (an old value that happens to be near the new one is no sign)
    if kept.any() and (right & ~unchanged).any() and np.all(right | kept):
        return [int(j) + 1 for j in np.flatnonzero(kept)]
    return []


def stored_nothing(got, before, expected) -> bool:
    """True when ``got`` is ``before`` exactly, where the right answer differs: the M-step
    left the parameter as it was."""
    got, before, expected = (np.asarray(a, dtype=float).ravel() for a in (got, before, expected))
    return (
        got.shape == before.shape == expected.shape
        and np.array_equal(got, before)
        and not np.allclose(got, expected, atol=_MATCH_ATOL, rtol=_MATCH_RTOL)
    )


def changed_by(before, now) -> str:
    """'largest change 1e-12': the size of a change the digits shown may hide."""
    before, now = np.asarray(before, dtype=float), np.asarray(now, dtype=float)
    return f"largest change {float(np.max(np.abs(now - before))):.2g}"


_MATCH_ATOL = 1e-5
_MATCH_RTOL = 1e-4


def matches(got, candidate) -> bool:
    """True when ``got`` (the student's array) reproduces ``candidate``."""
    if got is None or candidate is None:
        return False
    got = np.asarray(got, dtype=float)
    candidate = np.asarray(candidate, dtype=float)
    return (
        got.shape == candidate.shape
        and bool(np.all(np.isfinite(got)))
        and bool(np.allclose(got, candidate, atol=_MATCH_ATOL, rtol=_MATCH_RTOL))
    )


def _posterior(joint):
    with np.errstate(all="ignore"):
        return joint / joint.sum(axis=1, keepdims=True)


def estep_mutants(X, priors, mus, variances) -> dict:
    """What each common E-step mistake returns: key -> array."""
    joint = priors * component_densities(X, mus, variances)
    with np.errstate(all="ignore"):
        out = {
            PRIORS_IGNORED: _posterior(component_densities(X, mus, variances)),
            NOT_NORMALISED: joint,
            WRONG_AXIS: joint / joint.sum(axis=0, keepdims=True),
            STD_AS_VARIANCE: _posterior(priors * component_densities(X, mus, variances**2)),
            SQRT_VARIANCE_IN_DENSITY: _posterior(
                priors * component_densities(X, mus, np.sqrt(variances))
            ),
            LOG_POSTERIORS: np.log(_posterior(joint)),
        }
    return out


def diagnose_estep(got, X, priors, mus, variances) -> list:
    """Keys of the mistakes whose output equals ``got``, an ``(n_samples, n_components)``
    result (a wrong shape is :func:`shape_mistakes`' business), most specific first."""
    if got is None:
        return []
    right = _posterior(priors * component_densities(X, mus, variances))
    mutants = estep_mutants(X, priors, mus, variances)
    # A mistake that gives the right answer here (priors left out, when they are equal)
    # cannot be the one made.
    return [
        key
        for key, candidate in mutants.items()
        if matches(got, candidate) and not matches(right, candidate)
    ]


def _mle(x, gammas):
    """(priors, mus, variances) of the textbook M-step (cases.textbook_mstep)."""
    params = textbook_mstep(x, gammas)
    return params.priors, params.mus, params.variances


def mstep_mutants(X, gammas, before, recomputed_gammas, stored_mus=None) -> dict:
    """What each common M-step mistake stores, per parameter.

    ``before`` is the model's (priors, mus, variances) before the M-step;
    ``recomputed_gammas`` the posterior under ``before`` (what an M-step that runs its own
    E-step would use); ``stored_mus`` the means the student's M-step stored, when it stored
    k of them. Returns {"priors": {key: [array, ...]}, "mus": {...}, "variances": {...}}:
    each mistake with every answer it can produce (dividing by n gives two variances, about
    the right mean or about the mean that was also divided by n).
    """
    x = np.asarray(X, dtype=float).reshape(-1, 1)
    n = x.shape[0]
    n_k = gammas.sum(axis=0)
    priors, mus, variances = _mle(x, gammas)
    weighted_sq = (gammas * (x - mus) ** 2).sum(axis=0)
    mus_div_n = (gammas * x).sum(axis=0) / n
    with np.errstate(all="ignore"):
        out = {
            "priors": {PRIORS_NOT_NORMALISED: [n_k]},
            "mus": {DIVIDE_BY_N: [mus_div_n]},
            "variances": {
                VARIANCE_OLD_MEAN: [(gammas * (x - before[1]) ** 2).sum(axis=0) / n_k],
                UNBIASED_VARIANCE: [weighted_sq / (n_k - 1)],
                STD_AS_VARIANCE: [np.sqrt(variances)],
                DIVIDE_BY_N: [weighted_sq / n, (gammas * (x - mus_div_n) ** 2).sum(axis=0) / n],
            },
        }
    for name, value in zip(("priors", "mus", "variances"), _mle(x, recomputed_gammas)):
        out[name][IGNORES_GIVEN_GAMMAS] = [value]
    out["mus"][MEANS_VARIANCES_SWAPPED] = [variances]
    out["variances"][MEANS_VARIANCES_SWAPPED] = [mus]
    if stored_mus is not None and not matches(stored_mus, mus):
        with np.errstate(all="ignore"):
            about_stored = (gammas * (x - np.ravel(stored_mus)) ** 2).sum(axis=0) / n_k
        out["variances"][VARIANCE_FROM_WRONG_MEANS] = [about_stored]
    if n_k.size > 2:
        # Hint-style code written for two clusters updates components 0 and 1 correctly
        # (each component's update reads only its own column) and leaves the rest as they were.
        for name, correct, old in zip(
            ("priors", "mus", "variances"), (priors, mus, variances), before
        ):
            partial = np.array(old, dtype=float)
            partial[:2] = correct[:2]
            out[name][TWO_CLUSTERS] = [partial]
    return out


def diagnose_mstep(param, got, mutants, expected) -> list:
    """Keys whose stored ``param`` (priors/mus/variances) equals ``got``. A mistake that gives
    the right answer on this case (dividing by n when k = 1) cannot be the one made."""
    return [
        key
        for key, candidates in mutants[param].items()
        if any(matches(got, c) and not matches(expected, c) for c in candidates)
    ]


def variance_mistakes(got) -> list:
    """What stored variances say on their own: a variance is never negative or zero."""
    got = np.asarray(got, dtype=float)
    return [NONPOSITIVE_VARIANCE] if np.any(got <= 0) else []


def describe(keys) -> str:
    """Feedback paragraphs for diagnosed mistakes, in Markdown (empty when none)."""
    return "".join(f"\n\n**Likely cause:** {escape(MISTAKES[key])}." for key in keys)
