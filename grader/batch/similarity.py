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

A batch computes it while the class is graded (:func:`start`): :func:`main`, in a process
of its own, reads the uploads' paths on stdin and answers the result as JSON on stdout, at
the lowest CPU priority, so on a busy machine it takes only what the gradings
leave idle and a pathological upload cannot hold the batch past ``SECONDS``. It reads the
uploads as text like this module always has (nothing is run), and its answer is parsed as
JSON, never unpickled. Where that process fails, the batch compares in its own process.
"""

import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
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
SECONDS = 600  # lexing a class of hundreds takes seconds: only a pathological upload is slower
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


def _fingerprints(texts: dict[str, str], boilerplate, processes: int) -> dict:
    """id -> fingerprint of each text; lexed by ``processes`` forks of this process where
    that is more than one (the similarity process's own, below: they only read text)."""
    if processes <= 1 or len(texts) < 2 * processes:
        return {i: _fingerprint(t, boilerplate) for i, t in texts.items()}
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        found = pool.starmap(_fingerprint, [(t, boilerplate) for t in texts.values()])
    return dict(zip(texts, found))


def compare(texts: dict[str, str], processes: int = 1) -> Similarity:
    """Score every pair of ``texts`` (id -> source); returns the flagged pairs and the stubs.
    ``processes``: how many processes lex the texts (only ever more than one in the
    similarity process, which has no thread to fork)."""
    from copydetect import compare_files
    from copydetect.utils import filter_code

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))
    stub, hint = STUB_PATH.read_text(), HINT_PATH.read_text()
    boilerplate = sorted(_fingerprint(stub).hashes | _fingerprint(hint).hashes)
    stub_tokens = filter_code(stub, "gmm1d.py")[0]
    prints = _fingerprints(texts, boilerplate, processes)
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


def _texts(uploads: dict[str, str | None]) -> tuple[dict[str, str], dict[str, str]]:
    """(id -> source, id -> why it is not compared) of ``uploads`` (id -> path or None)."""
    texts, skipped = {}, {}
    for sub_id, path in uploads.items():
        text, why = _read(Path(path) if path is not None else None)
        if text is None:
            skipped[sub_id] = why
        else:
            texts[sub_id] = text
    return texts, skipped


def compare_uploads(uploads: dict[str, str | None], processes: int = 1) -> Similarity:
    texts, skipped = _texts(uploads)
    result = compare(texts, processes)
    result.skipped = skipped
    return result


def _uploads(submissions) -> dict[str, str | None]:
    return {sub.id: str(sub.path) if sub.path is not None else None for sub in submissions}


def write_csv(out: Path, result: Similarity) -> Similarity:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id_a", "id_b", "score"])
    writer.writerows([p.a.id, p.b.id, f"{p.score:.4f}"] for p in result.pairs)
    write_private(out / "similarity.csv", buffer.getvalue())
    return result


def write_similarity(out: Path, submissions) -> Similarity:
    """Compare the uploads of ``submissions`` (export.Submission) here, write similarity.csv."""
    return write_csv(out, compare_uploads(_uploads(submissions)))


def to_json(result: Similarity) -> dict:
    return {"pairs": [asdict(p) for p in result.pairs], "stubs": sorted(result.stubs),
            "compared": result.compared, "skipped": result.skipped}  # fmt: skip


def _side(data) -> Side:
    lines = tuple((int(n), str(text), bool(hit)) for n, text, hit in data["lines"])
    return Side(str(data["id"]), lines)


def from_json(data: dict) -> Similarity:
    """The result :func:`to_json` wrote; raises (KeyError, TypeError, ValueError) on anything
    else."""
    pairs = [Pair(_side(p["a"]), _side(p["b"]), float(p["score"])) for p in data["pairs"]]
    skipped = {str(k): str(v) for k, v in data["skipped"].items()}
    return Similarity(pairs, {str(i) for i in data["stubs"]}, int(data["compared"]), skipped)


class Pending:
    """The similarity of a class, computed by a process of its own (module docstring)."""

    def __init__(self, submissions, processes: int = 1):
        self.uploads = _uploads(submissions)
        self.proc = None
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from grader.batch import similarity; similarity.main()"],
                cwd=paths.PROJECT_ROOT,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
            )  # fmt: skip
            request = {"uploads": self.uploads, "processes": processes}
            self.proc.stdin.write(json.dumps(request).encode())
            self.proc.stdin.close()
            self.proc.stdin = None  # written: communicate() only reads
        except OSError as exc:
            print(f"grader: similarity runs after grading ({exc})", file=sys.stderr)
            self._kill()

    def _kill(self):
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    def finish(self, out: Path) -> Similarity:
        """Wait for the result (at most ``SECONDS``) and write similarity.csv."""
        if self.proc is not None:
            try:
                answer, _ = self.proc.communicate(timeout=SECONDS)
                if self.proc.returncode == 0:
                    return write_csv(out, from_json(json.loads(answer)))
                why = f"exit status {self.proc.returncode}"
            except subprocess.TimeoutExpired:
                self._kill()
                why = f"not done after {SECONDS} s"
                skipped = {
                    i: f"not compared: similarity took over {SECONDS} s" for i in self.uploads
                }
                print(f"grader: similarity {why}; no pair compared", file=sys.stderr)
                return write_csv(out, Similarity([], set(), 0, skipped))
            except (ValueError, KeyError, TypeError) as exc:
                why = f"an answer that is not a result ({exc})"
            finally:
                self._kill()
            print(f"grader: the similarity process failed ({why}); comparing here",
                  file=sys.stderr)  # fmt: skip
        return write_csv(out, compare_uploads(self.uploads))

    def cancel(self) -> None:
        self._kill()


def start(submissions, processes: int = 1) -> Pending:
    """Start comparing the uploads of ``submissions`` now, lexing them in ``processes``
    processes (the batch's ``--jobs``); ``.finish(out)`` collects the result."""
    return Pending(submissions, processes)


def _lowest_priority() -> None:
    """nice 19, and for this process's own autogroup (its own session) too: where the kernel
    groups sessions, a process's nice only counts inside its group."""
    with contextlib.suppress(OSError):
        os.nice(19)
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as handle:
        handle.write("19")


def main() -> None:
    """The similarity process (:class:`Pending`): uploads' paths in, the result out."""
    _lowest_priority()
    request = json.loads(sys.stdin.read())
    result = compare_uploads(request["uploads"], int(request["processes"]))
    sys.stdout.write(json.dumps(to_json(result)))
