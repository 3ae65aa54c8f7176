"""Each check passes the reference and fails an implementation with the matching bug,
naming the mistake. Implementations run in-process through tests/fake_sandbox.py."""

import numpy as np
import pytest

from grader import cases, checks, config, diagnosis, secret
from grader.cases import PARAM_NAMES
from grader.sandbox import schema
from tests.fake_sandbox import FakeSandbox

REF = checks.load_reference()
CFG = config.load()


class Ref(REF.GMM1D):
    pass


def outcomes_for(cls):
    ctx = checks.Context.for_grading(FakeSandbox(cls), REF, secret.development())
    return {check_id: checks.run(check_id, ctx) for check_id in checks.ids()}


def failed(outcomes):
    return {cid for cid, o in outcomes.items() if not o.passed}


def verdict_problems(outcomes, must_fail):
    """How ``outcomes`` differ from "exactly ``must_fail`` fail", by the fixtures' rule
    (tests/submission_fixtures.py): a check with no points may also fail unlisted, so that
    adding a 0-point check changes no test of another bug."""
    got = failed(outcomes)
    found = [f"{c} should fail but passed" for c in sorted(must_fail - got)]
    found += [f"{c} failed: {outcomes[c].feedback[:300]}" for c in sorted(got - must_fail)
              if CFG.checks[c].points > 0]  # fmt: skip
    return found


def test_reference_passes_every_check():
    outcomes = outcomes_for(Ref)
    assert failed(outcomes) == set(), {c: o.feedback for c, o in outcomes.items() if not o.passed}


def _col(v):
    return np.asarray(v, dtype=float).reshape(-1, 1)


def _normal(X, mus, var):
    return np.exp(-((X - mus.reshape(1, -1)) ** 2) / (2 * var.reshape(1, -1))) / np.sqrt(
        2 * np.pi * var.reshape(1, -1)
    )


class Hint(REF.GMM1D):
    """Correct, in the hint's style: EPSILON in every denominator, loops over clusters."""

    def estep(self, X):
        joint = np.hstack(
            [
                self.priors[j] * _normal(X, self.mus[j], self.variances[j])
                for j in range(self.num_gaussians)
            ]
        )
        return joint / (joint.sum(axis=1, keepdims=True) + REF.EPSILON)

    def mstep(self, X, gammas):
        n_k = gammas.sum(axis=0) + REF.EPSILON
        mus = (gammas * X).sum(axis=0) / n_k
        self.variances = _col((gammas * (X - mus) ** 2).sum(axis=0) / n_k)
        self.mus, self.priors = _col(mus), _col(n_k / X.shape[0])


class Flat(REF.GMM1D):
    """Correct, parameters stored as (k,) arrays."""

    def __init__(self, k):
        super().__init__(k)
        self.priors, self.mus, self.variances = (
            self.priors.ravel(),
            self.mus.ravel(),
            self.variances.ravel(),
        )

    def estep(self, X):
        joint = self.priors * _normal(X, self.mus, self.variances)
        return joint / joint.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        n_k = gammas.sum(axis=0)
        self.mus = (gammas * X).sum(axis=0) / n_k
        self.variances = (gammas * (X - self.mus) ** 2).sum(axis=0) / n_k
        self.priors = n_k / len(X)


@pytest.mark.parametrize("cls", [Hint, Flat], ids=["hint-epsilon", "flat-params"])
def test_correct_styles_pass_every_check(cls):
    outcomes = outcomes_for(cls)
    assert failed(outcomes) == set(), {c: o.feedback for c, o in outcomes.items() if not o.passed}


def _mutant_mstep(variant):
    def mstep(self, X, gammas):
        n = X.shape[0]
        n_k = gammas.sum(axis=0)
        old = self.mus.ravel().copy()
        mus = (gammas * X).sum(axis=0) / (n if variant == "divide_by_n" else n_k)
        centre = old if variant == "variance_old_mean" else mus
        sq = (gammas * (X - centre) ** 2).sum(axis=0)
        var = sq / (
            n_k - 1 if variant == "unbiased_variance" else n if variant == "divide_by_n" else n_k
        )
        if variant == "std_as_variance":
            var = np.sqrt(var)
        priors = n_k if variant == "priors_not_normalised" else n_k / n
        self.priors, self.mus, self.variances = _col(priors), _col(mus), _col(var)

    return type(variant, (Ref,), {"mstep": mstep})


def _mutant_estep(variant):
    def estep(self, X):
        priors = np.ones_like(self.priors) if variant == "priors_ignored" else self.priors
        var = self.variances**2 if variant == "std_as_variance" else self.variances
        joint = priors.reshape(1, -1) * _normal(X, self.mus, var)
        if variant == "not_normalised":
            return joint
        if variant == "wrong_axis":
            return joint / joint.sum(axis=0, keepdims=True)
        out = joint / joint.sum(axis=1, keepdims=True)
        return (
            out.T if variant == "transposed" else out.tolist() if variant == "not_ndarray" else out
        )

    return type(variant, (Ref,), {"estep": estep})


@pytest.mark.parametrize(
    "variant, must_fail, mistake_in",
    [
        ("variance_old_mean", {"mstep_variances", "em_monotone"}, "mstep_variances"),
        ("unbiased_variance", {"mstep_variances", "em_monotone"}, "mstep_variances"),
        ("std_as_variance", {"mstep_variances", "em_monotone"}, "mstep_variances"),
        # mstep_inputs counts: both value checks fail only by a named mistake that computes
        ("divide_by_n", {"mstep_means", "mstep_variances", "em_monotone"}, "mstep_means"),
        ("priors_not_normalised", {"mstep_priors", "em_monotone"}, "mstep_priors"),
    ],
)
def test_mstep_bug_fails_its_check_and_is_named(variant, must_fail, mistake_in):
    outcomes = outcomes_for(_mutant_mstep(variant))
    assert verdict_problems(outcomes, must_fail) == []
    assert variant in outcomes[mistake_in].mistakes, outcomes[mistake_in].feedback
    assert "Likely cause" in outcomes[mistake_in].feedback
    if variant == "divide_by_n":  # the variance about the mean that was also divided by n
        assert variant in outcomes["mstep_variances"].mistakes, outcomes["mstep_variances"].feedback


@pytest.mark.parametrize(
    "variant, must_fail, mistake_in",
    [
        # the worked example has equal priors, so it passes, and counts: the mistake check 4
        # names gives its right answer; purity counts (the method computes): 70
        ("priors_ignored", {"estep_values", "em_monotone"}, "estep_values"),
        ("std_as_variance", {"estep_example", "estep_values", "em_monotone"}, "estep_example"),
        (
            "not_normalised",
            {"estep_pmf", "estep_example", "estep_values", "em_monotone"},
            "estep_pmf",
        ),
        ("wrong_axis", {"estep_pmf", "estep_example", "estep_values", "em_monotone"}, "estep_pmf"),
        (
            "transposed",
            {"estep_shape", "estep_pmf", "estep_example", "estep_values", "em_monotone"},
            "estep_shape",
        ),
    ],
)
def test_estep_bug_fails_its_check_and_is_named(variant, must_fail, mistake_in):
    outcomes = outcomes_for(_mutant_estep(variant))
    assert verdict_problems(outcomes, must_fail) == []
    assert variant in outcomes[mistake_in].mistakes, outcomes[mistake_in].feedback


def test_a_list_is_graded_as_an_array_and_the_note_asks_for_numpy():
    """The returned type is what the submission's own process reports, so no points hang on
    it: a list passes like an array, with a note."""
    outcomes = outcomes_for(_mutant_estep("not_ndarray"))
    assert failed(outcomes) == set()
    assert "It returned a `list`, which was read as an array" in outcomes["estep_shape"].feedback


class Uninitialised(Ref):
    """The original course starter: estep returns np.empty((n, k)), mstep does nothing."""

    def estep(self, X):
        return np.empty((X.shape[0], self.num_gaussians))  # NaN in the worker (and the fake)

    def mstep(self, X, gammas):
        pass


def test_uninitialised_memory_earns_no_shape_points():
    outcomes = outcomes_for(Uninitialised)
    assert "estep_shape" in failed(outcomes)
    assert "every entry must be a probability" in outcomes["estep_shape"].feedback


class MutatesX(Ref):
    def estep(self, X):
        out = super().estep(X)
        X -= 1.0
        return out


class MutatesParams(Ref):
    def estep(self, X):
        out = super().estep(X)
        self.priors /= 2
        return out


class MutatesGammas(Ref):
    def mstep(self, X, gammas):
        super().mstep(X, gammas)
        gammas /= gammas.sum(axis=0, keepdims=True)


class MutatesXInMstep(Ref):
    def mstep(self, X, gammas):
        super().mstep(X, gammas)
        X -= self.mus.mean()  # centres the data in place, after using it


class IgnoresGammas(Ref):
    def mstep(self, X, gammas):
        super().mstep(X, self.estep(X))


class AlwaysTwo(Ref):
    def __init__(self, k):
        super().__init__(2)


class HardcodedTwo(Ref):
    """Written for two clusters, like the hint."""

    def estep(self, X):
        p = [self.priors[j, 0] * _normal(X, self.mus[j], self.variances[j]) for j in (0, 1)]
        total = p[0] + p[1]
        return np.hstack([p[0] / total, p[1] / total])

    def mstep(self, X, gammas):
        for j in (0, 1):
            g = gammas[:, [j]]
            n_j = g.sum()
            self.priors[j, 0] = n_j / len(X)
            self.mus[j, 0] = (g * X).sum() / n_j
            self.variances[j, 0] = (g * (X - self.mus[j, 0]) ** 2).sum() / n_j


class FallsOnBigData(Ref):
    """Correct except on the 300-point data set, where it moves every mean away."""

    def mstep(self, X, gammas):
        super().mstep(X, gammas)
        if len(X) == 300:
            self.mus = self.mus + 3.0


@pytest.mark.parametrize(
    "cls, must_fail, mistakes",
    [
        # the E-step's change to X also corrupts the data the M-step sees during EM
        (MutatesX, {"estep_pure", "em_monotone"}, {"estep_pure": "mutates_X"}),
        (MutatesParams, {"estep_pure"}, {"estep_pure": "mutates_params"}),
        (MutatesGammas, {"mstep_inputs"}, {"mstep_inputs": "mutates_inputs"}),
        # X changed under the student's own EM too: the next estep sees other data
        (MutatesXInMstep, {"mstep_inputs", "em_monotone"}, {"mstep_inputs": "mutates_inputs"}),
        (
            IgnoresGammas,
            {"mstep_priors", "mstep_means", "mstep_variances", "mstep_inputs"},
            {"mstep_inputs": "ignores_given_gammas", "mstep_means": "ignores_given_gammas"},
        ),
        # loads is a gate: a model that cannot be built with k clusters is not graded further
        (AlwaysTwo, set(checks.ids()), {}),
        (
            HardcodedTwo,  # what it shows on k = 2 counts: example, purity, mstep inputs
            {
                "estep_shape",
                "estep_pmf",
                "estep_values",
                "mstep_priors",
                "mstep_means",
                "mstep_variances",
                "em_monotone",
            },
            {"estep_shape": "two_clusters_hardcoded", "mstep_variances": "two_clusters_hardcoded"},
        ),
        (FallsOnBigData, {"em_monotone"}, {"em_monotone": "loglik_decreased"}),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_side_effect_generality_and_em_bugs(cls, must_fail, mistakes):
    outcomes = outcomes_for(cls)
    assert verdict_problems(outcomes, must_fail) == []
    for check_id, key in mistakes.items():
        assert key in outcomes[check_id].mistakes, outcomes[check_id].feedback


def test_em_feedback_names_iteration_and_size_of_the_fall():
    feedback = outcomes_for(FallsOnBigData)["em_monotone"].feedback
    assert "fell at iteration 1, by " in feedback
    assert "- start: " in feedback and "- iteration 1: " in feedback and "**(fell)**" in feedback


def test_worked_example_feedback_shows_expected_and_got():
    feedback = outcomes_for(_mutant_estep("std_as_variance"))["estep_example"].feedback
    assert "row " in feedback and "\n```\nexpected  [" in feedback and "\ngot       [" in feedback


class NanMstep(Ref):
    def mstep(self, X, gammas):
        self.priors = self.mus = self.variances = np.full((self.num_gaussians, 1), np.nan)


def test_nan_parameters_fail_mstep_inputs_too():
    outcomes = outcomes_for(NanMstep)
    must_fail = {"mstep_priors", "mstep_means", "mstep_variances", "mstep_inputs", "em_monotone"}
    assert verdict_problems(outcomes, must_fail) == []
    assert "finite" in outcomes["mstep_inputs"].feedback


def test_gate_feedback_points_at_check_1():
    outcome = outcomes_for(AlwaysTwo)["estep_values"]
    assert outcome.feedback.startswith(
        "Not checked, because check 1 (`loads`) failed: `GMM1D(1).num_gaussians` is `2`"
    )


class NoEM(Ref):
    """The red team's 30/100 without EM: pmf rows that ignore priors and variances, and an
    M-step that stores junk derived from the gammas. Neither touches its inputs."""

    def estep(self, X):
        logits = -np.abs(X - self.mus.reshape(1, -1))
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def mstep(self, X, gammas):
        self.priors = gammas[0].reshape(-1, 1).copy()


def test_side_effect_checks_need_a_method_that_works():
    outcomes = outcomes_for(NoEM)
    earning = {c for c, o in outcomes.items() if o.passed and CFG.checks[c].points > 0}
    assert earning == {"estep_shape", "estep_pmf"} and outcomes["loads"].passed
    for check_id, needs in (("estep_pure", "4"), ("mstep_inputs", "8 or 9")):
        assert f"counts only once check {needs} shows" in outcomes[check_id].feedback


class Threaded(Ref):
    """Correct maths, but in a thread: the sandbox forbids threads, the feedback says so."""

    def estep(self, X):
        raise RuntimeError("can't start new thread")


def test_a_refused_thread_is_explained():
    feedback = outcomes_for(Threaded)["estep_example"].feedback
    assert "no threads or subprocesses" in feedback


def test_every_mistake_is_named_in_diagnosis_only():
    """The checks say which mistake they saw through grader/mistakes.py's table, never by
    spelling a key themselves: one place declares each mistake and what the student is told."""
    import pathlib

    from grader import diagnosis

    for path in pathlib.Path(checks.__file__).parent.glob("*.py"):
        text = path.read_text()
        for key in diagnosis.MISTAKES:
            assert f'"{key}"' not in text and f"'{key}'" not in text, (path.name, key)


def test_every_mistake_is_made_by_a_fixture_or_a_test_here():
    """Each mistake the grader can name has a submission that makes it and must be told so:
    a fixture's "mistakes", or an assertion in this module."""
    import pathlib

    from grader import diagnosis
    from tests import submission_fixtures

    expectations = [f.expectation for f in submission_fixtures.discover().values()]
    named = {key for exp in expectations for keys in exp.get("mistakes", {}).values()
             for key in keys}  # fmt: skip
    here = pathlib.Path(__file__).read_text()
    missing = [k for k in diagnosis.MISTAKES if k not in named and f'"{k}"' not in here]
    assert not missing, f"no fixture or test makes these mistakes: {missing}"


class _ForgedEmAccount(FakeSandbox):
    """A worker reply rewritten by the submission's process (it can write its own frames):
    the real account of the run, cut to ``keep`` rows and told as ``claim`` iterations with
    no error, passed through the real reply validation."""

    def __init__(self, keep, claim):
        super().__init__(Ref)
        self.keep, self.claim = keep, claim

    def em_run(self, k, params, X, iterations):
        real = super().em_run(k, params, X, iterations)
        values = {key: real.values[key] for key in ("start_layouts", "layouts")}
        values["iterations_done"] = self.claim
        header = {"type": "reply", "id": 7, "kind": "ok", "error": "", "values": values}
        arrays = {name: real.arrays[name][: self.keep] for name in PARAM_NAMES}
        kind, error, values, arrays = schema.check_reply("em_run", 7, header, arrays)
        return schema.Reply(kind, error, values=values, arrays=arrays)


@pytest.mark.parametrize(
    "keep, claim", [(0, 0), (1, 1), (1, None), (0, 5)], ids=["none", "one", "unsaid", "more"]
)
def test_a_cut_short_or_forged_em_account_earns_nothing(keep, claim):
    ctx = checks.Context.for_grading(_ForgedEmAccount(keep, claim), REF, secret.development())
    outcome = checks.run("em_monotone", ctx)
    assert not outcome.passed
    assert "came back incomplete" in outcome.feedback, outcome.feedback


class StoresNothing(Ref):
    """Computes the M-step into local variables and never stores it (forgot ``self.``)."""

    def mstep(self, X, gammas):
        counts = gammas.sum(axis=0)
        priors = counts / len(X)
        mus = (gammas * X).sum(axis=0) / counts
        return priors, mus


M_STEP_CHECKS = ("mstep_priors", "mstep_means", "mstep_variances", "mstep_inputs")


def test_an_mstep_that_stores_nothing_is_told_so_and_nothing_else():
    """Not 'your loop skips clusters', not 'you recompute the responsibilities'."""
    outcomes = outcomes_for(StoresNothing)
    for check_id in M_STEP_CHECKS:
        assert outcomes[check_id].mistakes == ["mstep_stored_nothing"], check_id
    assert "it stored none" in outcomes["mstep_priors"].feedback


def test_two_hardcoded_clusters_are_not_also_called_a_skipping_loop():
    outcomes = outcomes_for(HardcodedTwo)
    named = {m for o in outcomes.values() for m in o.mistakes}
    assert "two_clusters_hardcoded" in named and "clusters_not_updated" not in named


class ForgotTheSquare(Ref):
    """The variance as the weighted mean deviation, not squared: about 0, either sign."""

    def mstep(self, X, gammas):
        super().mstep(X, gammas)
        counts = gammas.sum(axis=0)
        deviation = (gammas * (X - self.mus.T)).sum(axis=0) / counts
        self.variances = (deviation - 1e-9).reshape(-1, 1)  # never exactly 0 + a rounding


def test_a_variance_that_is_not_positive_is_named_as_such():
    outcomes = outcomes_for(ForgotTheSquare)
    assert verdict_problems(outcomes, {"mstep_variances", "em_monotone"}) == []
    assert "nonpositive_variance" in outcomes["mstep_variances"].mistakes


def test_a_mistake_that_gives_the_right_answer_is_never_named():
    """For k = 1 dividing by n is right (N_1 = n) and the given gammas are every point's: a
    variance a hair off the right one (an old value kept, say) must not read as either."""
    X = np.random.RandomState(3).randn(60, 1)
    gammas = np.ones((60, 1))
    right = cases.textbook_mstep(X, gammas)
    near = right.variances * (1 + 5e-5)
    stored = {"priors": right.priors, "mus": right.mus, "variances": near}
    before = cases.Params.of([1.0], [0.0], [1.0])
    s = diagnosis.Situation("variances", 1, near, right.variances, X, before, gammas, stored)
    assert diagnosis.diagnose([s]) == []
    equal = np.full((5, 2), 0.5)  # equal priors: leaving them out changes nothing
    got = equal + np.array([[2e-5, -2e-5]])
    X5 = np.linspace(-1, 1, 5).reshape(-1, 1)
    params = cases.Params.of([0.5, 0.5], [0.0, 0.0], [1.0, 1.0])
    assert diagnosis.diagnose([diagnosis.Situation("gammas", 2, got, equal, X5, params)]) == []


def _priors_situations(make):
    """The development key's M-step cases as the priors check sees them, ``make(case)`` the
    priors stored."""
    found = []
    for case in cases.CaseSet(secret.grading_key(secret.development(), b"x")).mstep_cases:
        right = cases.textbook_mstep(case.X, case.gammas)
        got = make(case)
        stored = {"priors": got, "mus": right.mus, "variances": right.variances}
        found.append(diagnosis.Situation("priors", case.params.k, got, right.priors, case.X,
                                         case.params, case.gammas, stored))  # fmt: skip
    return found


def test_a_case_where_two_mistakes_coincide_is_evidence_for_neither():
    """For k = 1 the soft counts divided by k are the soft counts: that case alone names
    nothing, and the cases k >= 2 tell the two apart."""
    by_k = _priors_situations(lambda c: c.gammas.sum(axis=0) / c.params.k)
    assert diagnosis.diagnose(by_k) == ["priors_divided_by_k"]
    assert diagnosis.diagnose(by_k[:1]) == []  # k = 1 only: either could be the one made
    sums = _priors_situations(lambda c: c.gammas.sum(axis=0))
    assert diagnosis.diagnose(sums) == ["priors_not_normalised"]
    # a mistake is named only when it explains every failing case
    assert diagnosis.diagnose(sums[:3] + by_k[3:]) == []


class OffOnTheExercise(Ref):
    """Right on every single-step case, off on the exercise's five points during EM."""

    def mstep(self, X, gammas):
        super().mstep(X, gammas)
        if len(X) == 5:
            self.mus = self.mus + 0.01


def test_full_em_names_the_earlier_check_that_failed_and_else_what_differs():
    """An E-step bug makes EM fail too: the feedback points at check 4, not at parameter
    lists that would send the student to the M-step; with no earlier failure it says which
    parameter left the reference's trajectory."""
    feedback = outcomes_for(_mutant_estep("priors_ignored"))["em_monotone"].feedback
    title = checks.REGISTRY["estep_values"].title
    assert f'check {checks.number("estep_values")}, "{title}"' in feedback, feedback
    assert "your means" not in feedback and "your priors" not in feedback
    alone = outcomes_for(OffOnTheExercise)
    assert verdict_problems(alone, {"em_monotone"}) == []
    assert "Likely reason" not in alone["em_monotone"].feedback
    assert "(your means " in alone["em_monotone"].feedback, alone["em_monotone"].feedback
