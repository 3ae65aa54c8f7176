"""Similarity (grader/batch/similarity.py) on a class built for it from the submission
fixtures and the two edited copies in tests/similarity_class/. Every file is the student's
methods (a patch, tests/fixture_patches.py) spliced into today's stub, so the class always
shares exactly the starter its students were given; an exact copy is made here.

* ``indep_*``: eleven correct solutions of different styles, written apart (fixtures of
  tests/submissions/correct/, among them public implementations): never flagged;
* ``buggy_divide_by_n`` (buggy/divide_by_n) with ``copy_exact_divide_by_n`` (byte-identical) and
  ``copy_renamed_divide_by_n`` (identifiers renamed, comments and docstrings rewritten),
  ``copy_exact_python_loops`` (a copy of ``indep_python_loops``) and
  ``copy_edited_python_loops`` (the same, identifiers renamed, two statements swapped, a line
  rewritten as a loop, a comment added): every pair flagged;
* ``stub_*``: the stub untouched, twice, and with comments changed (made here from gmm1d.py,
  so they follow the stub as it changes): never flagged, and told apart as unchanged stubs.

The threshold in docs/instructors.md was chosen from the scores printed by the last test.
"""

import csv
import itertools
from pathlib import Path

import pytest

from grader.batch import similarity
from grader.batch.export import Submission
from tests import submission_fixtures
from tests.fixture_patches import splice

CLASS = Path(__file__).parent / "similarity_class"  # the edited copies: their own lines
CORRECT = Path(__file__).parent / "submissions" / "correct"
INDEPENDENT = [
    "fortran_inplace_chaining", "hint_style_epsilon", "log_space", "norm_logpdf_clip_cov",
    "numpy_matrix", "property_table", "python_loops", "scipy_logsumexp_einsum", "scipy_norm",
    "softmax_average", "vectorised_columns",
]  # fmt: skip

COPIED = {
    frozenset(pair)
    for pair in [
        ("buggy_divide_by_n", "copy_exact_divide_by_n"),
        ("buggy_divide_by_n", "copy_renamed_divide_by_n"),
        ("copy_exact_divide_by_n", "copy_renamed_divide_by_n"),
        ("indep_python_loops", "copy_exact_python_loops"),
        ("indep_python_loops", "copy_edited_python_loops"),
        ("copy_exact_python_loops", "copy_edited_python_loops"),
    ]
}


def stubs() -> dict[str, str]:
    stub = similarity.STUB_PATH.read_text()
    commented = "# my name: Sam Student\n" + stub.replace("\n# ", "\n#  ").replace("    ", "  ")
    return {"stub_untouched": stub, "stub_untouched_2": stub, "stub_comments_changed": commented}


@pytest.fixture(scope="module")
def texts():
    """Each student's file: their methods (a patch) spliced into today's stub, as they would
    have written them into the starter they were given."""
    fixtures = submission_fixtures.discover()
    found = {f"indep_{n}": fixtures[f"correct/{n}"].source().decode() for n in INDEPENDENT}
    found["buggy_divide_by_n"] = fixtures["buggy/divide_by_n"].source().decode()
    found["copy_exact_divide_by_n"] = found["buggy_divide_by_n"]
    found["copy_exact_python_loops"] = found["indep_python_loops"]
    for patch in sorted(CLASS.glob("*.patch.py")):
        found[patch.name.removesuffix(".patch.py")] = splice(patch.read_text())
    return found | stubs()


@pytest.fixture(scope="module")
def result(texts):
    return similarity.compare(texts)


def test_the_class_is_as_described(texts):
    indep = [i for i in texts if i.startswith("indep_")]
    assert 8 <= len(indep) <= 12
    assert texts["copy_exact_divide_by_n"] == texts["buggy_divide_by_n"]
    assert texts["copy_renamed_divide_by_n"] != texts["buggy_divide_by_n"]
    assert "n_k" not in texts["copy_renamed_divide_by_n"].split("def estep")[1]  # renamed
    stub = similarity.STUB_PATH.read_text()
    assert texts["stub_untouched"] == stub and texts["stub_comments_changed"] != stub


def test_copies_are_flagged_and_independent_solutions_and_stubs_are_not(result):
    flagged = {frozenset((p.a.id, p.b.id)) for p in result.pairs}
    assert flagged == COPIED  # precision 1 and recall 1 on this class
    assert result.stubs == {"stub_untouched", "stub_untouched_2", "stub_comments_changed"}
    exact_pair = {"buggy_divide_by_n", "copy_exact_divide_by_n"}
    exact = next(p for p in result.pairs if {p.a.id, p.b.id} == exact_pair)
    assert exact.score == 1.0


def test_a_flagged_pair_shows_its_matching_lines_side_by_side(result):
    pair = next(p for p in result.pairs if "copy_renamed_divide_by_n" in (p.a.id, p.b.id))
    renamed = pair.a if pair.a.id == "copy_renamed_divide_by_n" else pair.b
    hits = [text for _, text, matched in renamed.lines if matched]
    assert any("soft_counts = resp.sum(axis=0)" in line for line in hits)
    assert all(isinstance(n, int) and n >= 1 for n, _, _ in renamed.lines)


def test_similarity_csv_lists_the_flagged_pairs(tmp_path, texts):
    for name, text in texts.items():
        (tmp_path / f"{name}.py").write_text(text)
    subs = [Submission(i, tmp_path / f"{i}.py") for i in texts] + [Submission("empty", None)]
    result = similarity.write_similarity(tmp_path, subs)
    with open(tmp_path / "similarity.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id_a", "id_b", "score"]
    assert {frozenset(r[:2]) for r in rows[1:]} == COPIED
    assert all(float(r[2]) >= similarity.THRESHOLD for r in rows[1:])
    assert result.skipped == {"empty": "nothing to compare (no gmm1d.py in the upload)"}


def test_scores_behind_the_documented_threshold(texts, monkeypatch, capsys):
    """Every pair's score: copies at 1, the highest independent pair well below the
    threshold (docs/instructors.md quotes these)."""
    threshold = similarity.THRESHOLD
    monkeypatch.setattr(similarity, "THRESHOLD", 0.0)
    scores = {frozenset((p.a.id, p.b.id)): p.score for p in similarity.compare(texts).pairs}
    ids = sorted(texts)
    pairs = [frozenset(p) for p in itertools.combinations(ids, 2)]
    copied = [scores.get(p, 0.0) for p in pairs if p in COPIED]
    independent = sorted((scores.get(p, 0.0), sorted(p)) for p in pairs if p not in COPIED)
    with capsys.disabled():
        print(
            f"\ncopies: min {min(copied):.3f}; the {len(independent)} other pairs: median "
            f"{independent[len(independent) // 2][0]:.3f}, highest {independent[-3:]}"
        )
    assert min(copied) >= threshold > independent[-1][0] + 0.05


def test_scores_are_the_same_in_every_process():
    """copydetect's own k-gram hash is Python's salted hash(): without the stable one, which
    fingerprints winnowing keeps (and so every score) changes with PYTHONHASHSEED."""
    import os
    import subprocess
    import sys

    code = (
        "from pathlib import Path; from grader.batch import similarity as s; s.THRESHOLD = 0; "
        f"t = {{p.stem: p.read_text() for p in Path({str(CORRECT)!r}).glob('*.patch.py')}}; "
        "print([(p.a.id, p.b.id, p.score) for p in s.compare(t).pairs])"
    )
    root = Path(__file__).resolve().parent.parent
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }  # fmt: skip
    assert len(outputs) == 1 and "python_loops" in outputs.pop()


def _class_on_disk(tmp_path, texts):
    for name, text in texts.items():
        (tmp_path / f"{name}.py").write_text(text)
    return [Submission(i, tmp_path / f"{i}.py") for i in texts] + [Submission("empty", None)]


def test_the_batch_s_similarity_process_answers_what_comparing_here_does(tmp_path, texts):
    """A batch compares in a process of its own while it grades (two lexing processes
    here): the same pairs, scores, excerpts, stubs and skipped uploads as in this process."""
    subs = _class_on_disk(tmp_path, texts)
    (tmp_path / "here").mkdir()
    here = similarity.write_similarity(tmp_path / "here", subs)
    there = similarity.start(subs, processes=2).finish(tmp_path)
    assert here.pairs and similarity.to_json(there) == similarity.to_json(here)
    csv_here = (tmp_path / "here" / "similarity.csv").read_text()
    assert (tmp_path / "similarity.csv").read_text() == csv_here


def test_a_failed_similarity_process_is_replaced_by_comparing_here(tmp_path, texts, capsys):
    subs = _class_on_disk(tmp_path, texts)
    pending = similarity.start(subs)
    pending.proc.kill()  # dies before answering
    found = pending.finish(tmp_path)
    assert "the similarity process failed" in capsys.readouterr().err
    assert {frozenset((p.a.id, p.b.id)) for p in found.pairs} == COPIED


def test_an_answer_that_is_not_a_result_is_refused(tmp_path, texts, capsys):
    """Its stdout is parsed as a result, nothing else: here the process is a stand-in that
    prints a JSON that is no result, so the batch compares in its own process."""
    import subprocess
    import sys

    subs = _class_on_disk(tmp_path, texts)
    pending = similarity.Pending.__new__(similarity.Pending)
    pending.uploads = similarity._uploads(subs)
    pending.proc = subprocess.Popen([sys.executable, "-c", "print('{\"pairs\": 1}')"],
                                    stdout=subprocess.PIPE)  # fmt: skip
    found = pending.finish(tmp_path)
    assert "an answer that is not a result" in capsys.readouterr().err
    assert {frozenset((p.a.id, p.b.id)) for p in found.pairs} == COPIED


def test_a_similarity_process_that_never_ends_costs_at_most_seconds(
    tmp_path, texts, monkeypatch, capsys
):
    import subprocess
    import sys
    import time

    monkeypatch.setattr(similarity, "SECONDS", 0.5)
    subs = _class_on_disk(tmp_path, texts)
    pending = similarity.Pending.__new__(similarity.Pending)
    pending.uploads = similarity._uploads(subs)
    pending.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                    stdout=subprocess.PIPE)  # fmt: skip
    start = time.monotonic()
    found = pending.finish(tmp_path)
    assert time.monotonic() - start < 10
    assert found.pairs == [] and found.compared == 0
    assert set(found.skipped) == {s.id for s in subs}
    assert all("over 0.5 s" in why for why in found.skipped.values())
    assert "no pair compared" in capsys.readouterr().err
    from grader.batch.page_students import similarity_section
    from grader.batch.stats import class_stats

    section = similarity_section(found, class_stats([], set()), similarity.THRESHOLD)
    assert 'id="not-compared"' in section and "similarity took over 0.5 s" in section
