"""Issue 12 end to end, through the real CLI (``python -m grader FILE --secret S``): answers
collected from earlier feedback cannot be replayed; one added comment changes the inputs and
both copies still score full marks; the same file graded twice gets identical checks."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from grader import cases, checks, config, grade, secret
from tests import answer_table
from tests.fake_sandbox import FakeSandbox

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CFG = config.load()
# Every check fed generated inputs (all but the import check and the worked example, whose
# only input is published; em_monotone also runs the two published EM data sets, but its
# synthetic ones are generated).
GENERATED = set(checks.ids()) - {"loads", "estep_example"}
PUBLISHED_POINTS = CFG.checks["estep_example"].points


def cli(path, course_secret, results):
    run = subprocess.run(
        [sys.executable, "-m", "grader", str(path), "--results", str(results),
         "--secret", str(course_secret), "--quiet"],  # fmt: skip
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(Path(results).read_text()), run.stdout + run.stderr


def failed(results):
    return {t["extra_data"]["check"] for t in results["tests"] if t["status"] == "failed"}


def test_a_replayed_answer_table_scores_at_most_the_published_examples(tmp_path):
    course_secret = secret.create(tmp_path / "course_secret")
    earlier = (ROOT / "solution" / "gmm1d.py").read_bytes()  # what the answers came from
    key = secret.grading_key(secret.load(course_secret), earlier)
    table = tmp_path / "gmm1d.py"
    table.write_text(answer_table.table_source(*answer_table.collect(key)))

    # Control: replayed against the inputs it was collected from, the table is complete.
    ctx = checks.Context(FakeSandbox.from_file(table), answer_table.REF, cases.CaseSet(key))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        replayed = grade._run(CFG, lambda c: checks.run(c, ctx), note="", started=0.0, extra={})
    assert replayed["score"] == CFG.max_score, failed(replayed)

    # Graded for real, the table's own bytes key other inputs: it matches none of them.
    results, log = cli(table, course_secret, tmp_path / "results.json")
    assert results["score"] <= PUBLISHED_POINTS, (results["score"], failed(results))
    assert failed(results) >= GENERATED, failed(results)
    assert table.stat().st_size > 100_000  # a real table, not a token one
    assert course_secret.read_text().strip() not in log + json.dumps(results)


PRINTS_ITS_INPUTS = """

import hashlib as _hashlib

_solved_estep = GMM1D.estep


def _estep_printing_its_input(self, X):
    print("estep got X", _hashlib.sha256(np.asarray(X, dtype=float).tobytes()).hexdigest()[:16])
    return _solved_estep(self, X)


GMM1D.estep = _estep_printing_its_input
"""


def printed_digests(results, check_id):
    [test] = [t for t in results["tests"] if t["extra_data"]["check"] == check_id]
    return {line.split()[-1] for line in test["output"].splitlines() if "estep got X" in line}


def test_one_added_comment_changes_every_generated_input_and_both_copies_score_full_marks(
    tmp_path,
):
    course_secret = secret.create(tmp_path / "course_secret")
    source = (ROOT / "solution" / "gmm1d.py").read_text() + PRINTS_ITS_INPUTS
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "gmm1d.py", tmp_path / "b" / "gmm1d.py"
    first.write_text(source)
    second.write_text(source + "# one comment\n")

    a1, _ = cli(first, course_secret, tmp_path / "a1.json")
    a2, _ = cli(first, course_secret, tmp_path / "a2.json")
    b, _ = cli(second, course_secret, tmp_path / "b.json")

    assert a1["score"] == b["score"] == CFG.max_score
    # The same file and secret: the same inputs, and checks identical to the byte.
    assert a1["tests"] == a2["tests"]
    # One comment more: other inputs in every generated case (the code printed their digests).
    for check_id in ("estep_shape", "estep_values"):
        seen_a, seen_b = printed_digests(a1, check_id), printed_digests(b, check_id)
        assert seen_a and seen_b and not seen_a & seen_b, check_id
    # The published worked example is the same for both.
    assert printed_digests(a1, "estep_example") == printed_digests(b, "estep_example")
    assert a1["extra_data"]["inputs"] == b["extra_data"]["inputs"] != secret.development().label
