"""grader/cases.py: generated inputs are keyed (same key, same inputs; other key, other
inputs), the published examples are fixed, and the machinery that keeps them fair works.
The fairness promises themselves are checked over a thousand keys in test_cases_fair.py."""

import hashlib
import hmac
import pathlib
import re

import numpy as np
import pytest

from grader import cases

KEY = hashlib.sha256(b"test_cases key").digest()
OTHER = hashlib.sha256(b"test_cases other key").digest()


def _arrays(case):
    """Every array of a generated case, flattened, in a fixed order."""
    if isinstance(case, cases.EmCase):
        parts = [case.X, *case.start.as_dict().values()]
    else:
        parts = [case.X, *case.params.as_dict().values()]
        if isinstance(case, cases.MstepCase):
            parts.append(case.gammas)
    return np.concatenate([np.ravel(p) for p in parts])


def test_the_same_key_gives_byte_identical_cases():
    a, b = cases.CaseSet(KEY).generated(), cases.CaseSet(KEY).generated()
    assert [c.name for c in a] == [c.name for c in b]
    for x, y in zip(a, b):
        assert _arrays(x).tobytes() == _arrays(y).tobytes(), x.name


def test_another_key_changes_every_generated_case():
    a, b = cases.CaseSet(KEY).generated(), cases.CaseSet(OTHER).generated()
    assert [c.name for c in a] == [c.name for c in b]  # the same cases ...
    for x, y in zip(a, b):  # ... with other numbers in every one of them
        assert not np.isin(_arrays(x)[: x.X.size], _arrays(y)).any(), x.name


def test_a_case_does_not_depend_on_which_cases_were_built_before_it():
    fresh = cases.CaseSet(KEY).em_cases
    used = cases.CaseSet(KEY)
    used.mstep_cases, used.value_cases  # noqa: B018 (other streams drawn first)
    for x, y in zip(fresh, used.em_cases):
        assert _arrays(x).tobytes() == _arrays(y).tobytes()


def test_each_case_is_drawn_from_hmac_of_the_key_and_its_name():
    """The derivation the docs state: RandomState seeded with HMAC-SHA256(key, name) read as
    eight little-endian 32-bit words (the shared, reseeded stream draws exactly that)."""
    name = "values, k = 3, n = 80"
    words = np.frombuffer(hmac.new(KEY, name.encode(), "sha256").digest(), dtype="<u4")
    case_set = cases.CaseSet(KEY)
    case_set.rng("something else").normal(size=5)  # a used stream, then reseeded
    assert np.array_equal(case_set.rng(name).uniform(size=50),
                          np.random.RandomState(words).uniform(size=50))  # fmt: skip
    stream = case_set.rng(name)
    stream.normal()  # a cached Gaussian (RandomState draws them in pairs) must not survive
    assert np.array_equal(case_set.rng(name).normal(size=3),
                          np.random.RandomState(words).normal(size=3))  # fmt: skip


@pytest.mark.parametrize("key", [KEY, OTHER])
def test_the_published_examples_do_not_depend_on_the_key(key):
    em = cases.CaseSet(key).em_cases
    assert em[0] is cases.EXERCISE_EM and em[1] is cases.NOTEBOOK_EM
    assert cases.CaseSet(key).value_cases[0].name.startswith("values, k = 1")


def test_the_published_examples_are_the_courses():
    """The course's published data (MITx 6.86x, unit 4), typed in, not computed."""
    ex = cases.WORKED_EXAMPLE
    assert ex.X.ravel().tolist() == [0.2, -0.9, -1.0, 1.2, 1.8]
    assert ex.params.priors.tolist() == [0.5, 0.5] and ex.params.mus.tolist() == [-3.0, 2.0]
    assert ex.params.variances.tolist() == [4.0, 4.0]
    em = cases.EXERCISE_EM
    assert em.X.ravel().tolist() == [-1.0, 0.0, 4.0, 5.0, 6.0]
    assert em.start.mus.tolist() == [6.0, 7.0] and em.start.variances.tolist() == [1.0, 4.0]
    nb = cases.NOTEBOOK_EM
    assert nb.X.shape == (40, 1)
    assert nb.start.mus.tolist() == [-0.5, 0.5] and nb.start.variances.tolist() == [1.0, 1.0]
    assert nb.start.priors.tolist() == [0.5, 0.5]


def test_every_k_from_1_to_6_is_covered():
    case_set = cases.CaseSet(KEY)
    for group in (case_set.pmf_cases, case_set.value_cases, case_set.mstep_cases):
        assert sorted(c.params.k for c in group) == [1, 2, 3, 4, 5, 6]
    assert {c.start.k for c in case_set.em_cases} >= {2, 3, 6}


def test_the_docs_name_the_ks_and_parameters_the_checks_use():
    """docs/grading.md is written by hand: each k range it states is cases.K_TEXT, and the
    handout's text names every attribute of cases.PARAM_NAMES (the lab's contract)."""
    root = pathlib.Path(__file__).resolve().parent.parent
    grading = (root / "docs" / "grading.md").read_text(encoding="utf-8")
    ranges = re.findall(r"k = \d+ ?\.\. ?\d+", grading)
    assert ranges and set(ranges) == {cases.K_TEXT}
    handout = (root / "HANDOUT.in.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in handout or f"self.{name}" in handout for name in cases.PARAM_NAMES)


def test_an_unfair_draw_is_redrawn_and_a_hopeless_one_is_our_bug():
    draws = iter(range(10))
    assert cases._redrawn(lambda: next(draws), lambda x: x >= 3, "count") == 3
    with pytest.raises(RuntimeError, match="no fair hopeless in 200 draws"):
        cases._redrawn(lambda: 0, lambda x: False, "hopeless")


def test_em_fairness_rejects_each_kind_of_unfair_trajectory():
    start = cases.Params.of([0.5, 0.5], [0.0, 5.0], [1.0, 1.0])
    spread = cases.column([-1.0, 0.0, 1.0, 4.0, 5.0, 6.0])
    assert cases.em_fair(cases.EmCase("fair", spread, start, 5))
    tight = cases.column([-0.001, 0.0, 0.001, 4.0, 5.0, 6.0])  # variance 7e-7 after one step
    assert not cases.em_fair(cases.EmCase("collapses", tight, start, 1))
    lonely = cases.column([0.0, 4.0, 4.5, 5.0, 5.5, 6.0])  # one point: soft count ~1 < 2
    assert not cases.em_fair(cases.EmCase("a lonely point", lonely, start, 1))
    far = cases.Params.of([0.5, 0.5], [40.0, 45.0], [1.0, 1.0])  # density ~1e-300 at the start
    assert not cases.em_fair(cases.EmCase("far", spread, far, 1))
