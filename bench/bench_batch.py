"""Batch regrade throughput, as medians of interleaved runs (each round runs every mode once,
so all see the same background load):

* ``--jobs 2`` against ``--jobs 1`` (the batch's grading slots, grader/batch/slots.py):
  goal >= 1.7x on 2 cores;
* a batch's cost per file (``--jobs 1``) against a single grading in a warm process
  (``grade_submission`` in this one, what the batch would cost with no overhead of its own):
  goal <= 1.1x;
* for comparison, the previous design (a fresh ``python -m grader`` per file, ``--jobs 1``);
* and what the root cleanup sweep costs: one walk of /tmp, /var/tmp and /dev/shm, which the
  batch now pays once per slot (grader/sandbox/cleanup.py is measured as it is).

The class (39 submissions, an export-shaped folder built in a temporary directory): 16
correct (the reference and a student-style rewrite), 8 unfinished stubs, 12 buggy (common
mistakes edited into a correct file), 3 hostile (a memory bomb, an upload that forges a
results.json and exits, an output flood). An import that never ends is left out: it costs the
grader's start-up limit (20 s) whatever the batch does, and would measure that limit.
Totals must be identical in every mode.
"""

import contextlib
import csv
import io
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from grader import config, paths, secret
from grader.batch import grade_command, run_batch
from grader.batch.records import grader_problem

REPEATS = int(os.environ.get("BENCH_BATCH_REPEATS", "3"))
PER_FILE = os.environ.get("BENCH_BATCH_PER_FILE", "1") != "0"  # 0: skip the previous design
HERE = Path(__file__).resolve().parent
FIXTURE = paths.PROJECT_ROOT / "tests" / "batch_export"

HOSTILE = {
    "hang": "while True:\n    pass\n",
    "memory_bomb": "hog = [bytearray(64 * 1024 * 1024) for _ in range(1000)]\n",
    "forged_results": (
        "import json, os\n"
        "forged = {'score': 100, 'tests': []}\n"
        "for p in ['/autograder/results/results.json', 'results.json', '../results.json']:\n"
        "    try:\n"
        "        open(p, 'w').write(json.dumps(forged))\n"
        "    except OSError:\n"
        "        pass\n"
        "os._exit(0)\n"
    ),
    "output_flood": "import sys\nfor _ in range(200000):\n    print('x' * 500)\n",
}

# (name, old, new): common mistakes edited into the fixture's student-style correct solution
BUGS = [
    (
        "divide_by_n",
        "variances = (gammas * (X - mus) ** 2).sum(axis=0) / n_k",
        "variances = (gammas * (X - mus) ** 2).sum(axis=0) / X.shape[0]",
    ),
    (
        "wrong_axis",
        "return joint / joint.sum(axis=1, keepdims=True)",
        "return joint / joint.sum(axis=0, keepdims=True)",
    ),
    (
        "not_normalised",
        "return joint / joint.sum(axis=1, keepdims=True)",
        "return joint * np.exp(top)",
    ),
    (
        "transposed",
        "return joint / joint.sum(axis=1, keepdims=True)",
        "return (joint / joint.sum(axis=1, keepdims=True)).T",
    ),
    (
        "std_as_variance",
        "self.variances = variances.reshape(-1, 1)",
        "self.variances = np.sqrt(variances).reshape(-1, 1)",
    ),
]


def build_class(root: Path, hang: bool = True) -> Path:
    """An export-shaped folder of 40 submissions (39 without the hanging import); returns it."""
    export = root / "export"
    correct_student = (FIXTURE / "submission_1001" / "gmm1d.py").read_text()
    files = {}
    for i in range(8):
        files[f"correct_ref_{i}"] = paths.SOLUTION_PATH.read_text() + f"\n# copy {i}\n"
        files[f"correct_student_{i}"] = correct_student + f"\n# copy {i}\n"
        files[f"stub_{i}"] = (paths.PROJECT_ROOT / "gmm1d.py").read_text() + f"\n# copy {i}\n"
    for i in range(2):
        for name, old, new in BUGS:
            assert old in correct_student, (
                f"bench_batch: the {name} edit no longer applies to the fixture"
            )
            files[f"buggy_{name}_{i}"] = correct_student.replace(old, new) + f"\n# copy {i}\n"
        files[f"buggy_priors_old_mean_{i}"] = (
            FIXTURE / "submission_1004" / "gmm1d (2).py"
        ).read_text() + f"\n# {i}\n"
    for name, text in HOSTILE.items():
        if hang or name != "hang":
            files[f"hostile_{name}"] = text
    metadata = []
    for n, (name, text) in enumerate(sorted(files.items()), 1):
        folder = export / f"submission_{n:03d}"
        folder.mkdir(parents=True)
        (folder / "gmm1d.py").write_text(text)
        metadata.append(
            f"submission_{n:03d}:\n  :submitters:\n  - :name: {name}\n    :sid: '{n}'\n"
            f"    :email: {name}@example.edu\n"
        )
    (export / "submission_metadata.yml").write_text("".join(metadata))
    return export


def in_process(export: Path, out: Path) -> dict:
    """Grade each upload with grade_submission in this (warm) process; {id: total} read back
    from the results files it writes (None where the grader failed on our side)."""
    from grader.grade import grade_submission

    out.mkdir(parents=True, exist_ok=True)
    cfg, course_secret = config.load(), secret.load()
    totals = {}
    for folder in sorted(p for p in export.glob("submission_*") if p.is_dir()):
        sub_id = folder.name.split("_", 1)[1]
        results = out / f"{sub_id}.json"
        with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
            grade_submission(folder / "gmm1d.py", results, config=cfg, course_secret=course_secret)
        data = json.loads(results.read_text())
        totals[sub_id] = None if grader_problem(data) else float(data["score"])
    return totals


def batch(export: Path, out: Path, jobs: int, per_file: bool = False) -> dict:
    """The batch regrade (all redone); {id: total} read back from grades.csv."""
    command = grade_command if per_file else None
    run_batch(export, out, jobs=jobs, redo=True, command=command, progress_stream=io.StringIO())
    with open(out / "grades.csv", newline="") as f:
        return {
            row["submission_id"]: float(row["total"]) if row["total"] else None
            for row in csv.DictReader(f)
        }


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (not idle or waiting on I/O) so far."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _timed(fn, busy=None):
    start, cpu = time.perf_counter(), _busy_seconds()
    result = fn()
    if busy is not None:
        busy.append(_busy_seconds() - cpu)
    return time.perf_counter() - start, result


def sweep_seconds() -> float | None:
    """One root sweep of the world-writable places for a grader's sandbox uids (what
    kill_workers_of does), median of 3; None when not root (no sweep then)."""
    from grader.sandbox import cleanup
    from grader.sandbox.isolation import uid_range

    if os.geteuid() != 0:
        return None
    times = []
    for _ in range(3):
        start = time.perf_counter()
        cleanup.remove_files_of(set(uid_range(2**22 - 1)))  # no live pid: owns nothing
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(export: Path, work: Path) -> None:
    n = sum(1 for p in export.glob("submission_*") if p.is_dir())
    modes = {
        "jobs 1": lambda: batch(export, work / "j1", 1),
        "jobs 2": lambda: batch(export, work / "j2", 2),
        "in process": lambda: in_process(export, work / "inproc"),
    }
    if PER_FILE:
        modes["per-file jobs 1"] = lambda: batch(export, work / "pf", 1, per_file=True)
    times = {name: [] for name in modes}
    busy = {name: [] for name in modes}
    totals = {}
    modes["in process"]()  # warm this process (imports, the reference) as a slot warms up
    for _ in range(REPEATS):
        for name, run in modes.items():
            seconds, totals[name] = _timed(run, busy[name])
            times[name].append(seconds)
    speedup = statistics.median(a / b for a, b in zip(times["jobs 1"], times["jobs 2"]))
    per_file = statistics.median(a / b for a, b in zip(times["jobs 1"], times["in process"]))
    print(f"{n} submissions, medians of {REPEATS} interleaved rounds")
    for name in modes:
        median = statistics.median(times[name])
        print(f"  {name:16s} {median:7.2f} s  ({median / n:.3f} s a file)")
    print(f"  --jobs 2 speed-up over --jobs 1: {speedup:.2f}x (goal >= 1.7x on 2 cores)")
    cores = len(os.sched_getaffinity(0))
    for name in ("jobs 1", "jobs 2"):
        cpu, wall = statistics.median(busy[name]), statistics.median(times[name])
        print(
            f"    {name}: {cpu:.1f} CPU-s busy in {wall:.2f} s, {cpu / wall:.2f} of {cores} cores"
        )
    ceiling = statistics.median(cores * t / c for t, c in zip(times["jobs 1"], busy["jobs 2"]))
    print(
        f"    ceiling with every core busy for the whole --jobs 2 run: {ceiling:.2f}x "
        "(--jobs 1's wall time / the CPU the class needs, shared by the cores)"
    )
    print(f"  batch cost per file / in-process grading: {per_file:.2f}x (goal <= 1.1x)")
    if PER_FILE:
        before = statistics.median(a / b for a, b in zip(times["per-file jobs 1"], times["jobs 1"]))
        print(f"  previous design (a process per file) / slots, both --jobs 1: {before:.2f}x")
    from grader.batch import similarity

    texts = {p.parent.name: p.read_text() for p in export.glob("submission_*/gmm1d.py")}
    similar, _ = _timed(lambda: similarity.compare(texts))
    print(
        f"  the similarity step alone, in one process: {similar:.2f} s (a batch runs it "
        "while grading, at the lowest priority, lexing in --jobs processes)"
    )
    sweep = sweep_seconds()
    if sweep is not None:
        print(
            f"  one root sweep of /tmp, /var/tmp, /dev/shm: {sweep:.3f} s; a batch pays one per "
            f"slot (was: one per file, {sweep * n:.1f} s for this class)"
        )
    reference = totals["in process"]
    identical = all(t == reference for t in totals.values())
    graded = [v for v in reference.values() if v is not None]
    print(f"  totals identical in every mode: {'yes' if identical else 'NO'}; {len(graded)} graded")
    if not identical:
        for name, found in totals.items():
            diff = {k: (v, found.get(k)) for k, v in reference.items() if v != found.get(k)}
            if diff:
                print(f"  differing ({name}): {diff}")


def main():
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    # (mode 0700 from mkdtemp: the sandbox copies each submission itself, as root)
    try:
        export = build_class(root, hang=False)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        load = (
            " ".join(Path("/proc/loadavg").read_text().split()[:3])
            if Path("/proc/loadavg").exists()
            else "?"
        )
        print(f"machine: {cores} cores, load average {load} before the runs")
        compare(export, root / "out")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
