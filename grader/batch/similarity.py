"""``OUT/similarity.csv``: pairs of uploads that share more code than students who write
their own would, found by copydetect (MIT; winnowing over tokens, as MOSS does).

Each upload is tokenised (never run: Pygments' Python lexer reads it as text), identifiers
become ``V``/``F``/``O`` and comments and layout are dropped, so renaming variables and
rewriting comments does not hide a copy. Fingerprints (hashes of every ``NOISE``-token
k-gram, winnowed over a window of ``WINDOW``) that also occur in the stub (gmm1d.py) or the
hint (two_gaussian_1dgm.py) are boilerplate and never count: every student starts from those.

A pair's score is the larger of the two fractions of each file's fingerprinted tokens that
the other file shares (copydetect's per-file similarity): a student who copied a classmate's
file and added code of their own still scores high. Two uploads whose code (as tokens) is
identical and not boilerplate always score 1. A pair is flagged at ``THRESHOLD`` or above;
the threshold and the figures it was chosen from are in docs/instructors.md (measured on
a class built from the test fixtures, see tests/test_similarity.py).
"""

import csv
import hashlib
import io
import logging
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from grader import paths
from grader.batch.results import write_private

NOISE = 25  # k-gram length in filtered tokens (characters): copydetect's default noise_t
WINDOW = 6  # winnowing window: guarantee_t 30 - noise_t 25 + 1, copydetect's default
THRESHOLD = 0.9  # measured: docs/instructors.md, "Similarity"
MAX_BYTES = 256 * 1024  # larger uploads are not compared (lexing time grows with size)
CONTEXT_LINES = 1  # unmatched lines shown around each matched run in the report
MAX_LINES_SHOWN = 60
HINT_PATH = paths.PROJECT_ROOT / "two_gaussian_1dgm.py"
STUB_PATH = paths.PROJECT_ROOT / "gmm1d.py"


@dataclass(frozen=True)
class Side:
    id: str
    lines: tuple[tuple[int, str, bool], ...]  # (line number, text, in a shared run), excerpted


@dataclass(frozen=True)
class Pair:
    a: Side
    b: Side
    score: float


@dataclass
class Similarity:
    pairs: list[Pair]  # flagged, highest score first
    stubs: set[str]  # uploads whose tokens are the stub's (only comments or layout changed)
    compared: int  # uploads compared
    skipped: dict[str, str]  # id -> why it was not compared


def _stable_hashes(string: str, k: int):
    """copydetect's ``hashed_kgrams`` with a hash that is the same in every process.

    copydetect hashes k-grams with Python's ``hash()``, salted per process (PYTHONHASHSEED):
    winnowing keeps each window's smallest hash, so which fingerprints are kept, and every
    score, would change from one run to the next, and a pair near the threshold would be
    flagged on some runs only. BLAKE2b (64 bits, signed like ``hash()``) makes them stable.
    """
    import numpy as np

    return np.array(
        [
            int.from_bytes(
                hashlib.blake2b(string[i : i + k].encode(), digest_size=8).digest(),
                "big",
                signed=True,
            )
            for i in range(len(string) - k + 1)
        ],
        dtype=np.int64,
    )


def _fingerprint(text: str, boilerplate=None):
    import copydetect.utils
    from copydetect import CodeFingerprint

    copydetect.utils.hashed_kgrams = _stable_hashes  # see _stable_hashes

    return CodeFingerprint(
        "upload.py", NOISE, WINDOW, boilerplate=boilerplate, fp=io.StringIO(text)
    )


def _excerpt(text: str, slices) -> tuple[tuple[int, str, bool], ...]:
    """Line-numbered lines near the shared runs of ``text`` (character ``slices``: 2 x N)."""
    lines = text.split("\n")
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    matched = [False] * len(lines)
    for start, end in zip(*slices):
        for number, line_start in enumerate(starts):
            if line_start < end and line_start + len(lines[number]) >= start:
                matched[number] = True
    shown = {
        n + d
        for n, hit in enumerate(matched)
        if hit
        for d in range(-CONTEXT_LINES, CONTEXT_LINES + 1)
        if 0 <= n + d < len(lines)
    }
    return tuple((n + 1, lines[n], matched[n]) for n in sorted(shown))[:MAX_LINES_SHOWN]


def _read(path: Path | None) -> tuple[str | None, str]:
    if path is None:
        return None, "nothing to compare (no gmm1d.py in the upload)"
    try:
        if path.stat().st_size > MAX_BYTES:
            return None, f"larger than {MAX_BYTES // 1024} KiB"
        return path.read_text(encoding="utf-8", errors="replace"), ""
    except OSError as exc:
        return None, f"unreadable ({exc.strerror})"


def compare(texts: dict[str, str]) -> Similarity:
    """Score every pair of ``texts`` (id -> source); returns the flagged pairs and the stubs."""
    from copydetect import compare_files
    from copydetect.utils import filter_code

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))
    stub, hint = STUB_PATH.read_text(), HINT_PATH.read_text()
    boilerplate = sorted(_fingerprint(stub).hashes | _fingerprint(hint).hashes)
    stub_tokens = filter_code(stub, "gmm1d.py")[0]
    prints = {i: _fingerprint(t, boilerplate) for i, t in texts.items()}
    stubs = {i for i, p in prints.items() if p.filtered_code == stub_tokens}
    pairs = []
    for a, b in combinations(sorted(texts), 2):
        pa, pb = prints[a], prints[b]
        _, (sim_a, sim_b), slices = compare_files(pa, pb)
        score = max(float(sim_a), float(sim_b))
        if pa.filtered_code == pb.filtered_code and pa.token_coverage > 0:
            score = 1.0  # the same code, whatever the comments and layout: always flagged
        if score >= THRESHOLD:
            pairs.append(
                Pair(
                    Side(a, _excerpt(texts[a], slices[0])),
                    Side(b, _excerpt(texts[b], slices[1])),
                    round(score, 4),
                )
            )
    pairs.sort(key=lambda p: (-p.score, p.a.id, p.b.id))
    return Similarity(pairs, stubs, len(texts), {})


def write_similarity(out: Path, submissions) -> Similarity:
    """Compare the uploads of ``submissions`` (export.Submission) and write similarity.csv."""
    texts, skipped = {}, {}
    for sub in submissions:
        text, why = _read(sub.path)
        if text is None:
            skipped[sub.id] = why
        else:
            texts[sub.id] = text
    result = compare(texts)
    result.skipped = skipped
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id_a", "id_b", "score"])
    writer.writerows([p.a.id, p.b.id, f"{p.score:.4f}"] for p in result.pairs)
    write_private(out / "similarity.csv", buffer.getvalue())
    return result
