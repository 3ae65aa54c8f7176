"""What keyed inputs cost a grading (issue 12's goal: grading the reference within 5% of its
time before them):

* deriving one grading's key and building every generated case (grader/secret.py,
  grader/cases.py), median over many keys, and its share of a reference grading;
* A/B, when ``BASELINE`` names another checkout (``make bench BASELINE=../old``): grading
  the reference through each checkout's command line, interleaved run by run so that both
  see the same machine noise; medians of wall time and of CPU time (grader + worker, less
  noisy than wall time on a shared machine) and their ratios.
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader import cases, secret
from grader.paths import PROJECT_ROOT, SOLUTION_PATH

KEYS = 300
AB_RUNS = 25


def build_ms():
    course = secret.CourseSecret(os.urandom(secret.SECRET_BYTES), development=False)
    source = SOLUTION_PATH.read_bytes()
    times = []
    for i in range(KEYS):
        start = time.perf_counter()
        case_set = cases.CaseSet(secret.grading_key(course, source + b"#%d" % i))
        case_set.generated()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def grade_seconds(checkout: Path, results: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one grading of the reference by ``checkout``'s grader."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "grader", str(SOLUTION_PATH), "--results", str(results), "--quiet"],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main():
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.json"
        build = build_ms()
        grade_seconds(PROJECT_ROOT, results)  # warm the page cache
        here = [grade_seconds(PROJECT_ROOT, results)[0] for _ in range(7)]
        grading = statistics.median(here)
        print(f"key + every generated case:              median {build:.1f} ms ({KEYS} keys)")
        print(f"grading the reference:                   median {grading:.3f} s (7 runs)")
        print(f"  share of the grading:                  {build / 1000 / grading:.1%}")

        baseline = os.environ.get("BASELINE")
        if not baseline:
            print("A/B against an older checkout: make bench BASELINE=<its path>")
            return
        baseline = Path(baseline).resolve()
        grade_seconds(baseline, results)
        old, new = [], []
        for _ in range(AB_RUNS):
            old.append(grade_seconds(baseline, results))
            new.append(grade_seconds(PROJECT_ROOT, results))
        for i, what in enumerate(("wall", "CPU")):
            before = statistics.median(run[i] for run in old)
            now = statistics.median(run[i] for run in new)
            print(f"grading the reference, {what:4} time: {baseline.name} median {before:.3f} s, "
                  f"this checkout {now:.3f} s ({AB_RUNS} runs each, interleaved): "
                  f"{now / before:.3f}x (goal <= 1.05x)")  # fmt: skip


if __name__ == "__main__":
    main()
