"""Grading cost (issue 3's figures), each through the real command line:

* a correct vectorised submission (the reference): wall time, and its ratio to a bare
  ``python -c "import numpy, scipy.stats"`` (goal: at most 2.5x);
* the same with its figure against ``--no-figures``, runs interleaved so that the machine's
  load falls on both alike (goal: at most 1.3x);
* a submission whose every call hangs, with the default limits (goal: under 60 s);
* peak memory of grader, worker and drawing process, sampled over the process tree, for
  the reference and for a memory bomb (goal: fits Gradescope's default 768 MB container).
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import median_seconds
from grader.paths import PROJECT_ROOT, SOLUTION_PATH

# Submissions for the hostile figures: the stub's constructor, then two methods' bodies.
_SUBMISSION = """
import numpy as np
class GMM1D:
    def __init__(self, num_gaussians):
        self.num_gaussians = num_gaussians
        self.priors = np.ones((num_gaussians, 1)) / num_gaussians
        self.mus = np.zeros((num_gaussians, 1))
        self.variances = np.ones((num_gaussians, 1))
    def estep(self, X):
{estep}
    def mstep(self, X, gammas):
{mstep}
"""
HANGS = _SUBMISSION.format(
    estep="        while True:\n            pass", mstep="        while True:\n            pass"
)
BOMB = _SUBMISSION.format(
    estep="        hoard = []\n        while True:\n            hoard.append(np.ones(10_000_000))",
    mstep="        return self.estep(X)",
)


def _grade_cmd(submission, results, *flags):
    return [
        sys.executable, "-m", "grader", str(submission), "--results", str(results), "--quiet",
        *flags,
    ]  # fmt: skip


def interleaved_medians(commands, rounds=9):
    """Median wall seconds of each command, run in turn ``rounds`` times (after one
    untimed round)."""
    times = [[] for _ in commands]
    for round_ in range(rounds + 1):
        for cmd, seen in zip(commands, times):
            start = time.perf_counter()
            subprocess.run(cmd, cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)  # fmt: skip
            if round_:
                seen.append(time.perf_counter() - start)
    return [statistics.median(seen) for seen in times]


def _tree_rss_kb(root_pid):
    """Sum of VmRSS over root_pid and its descendants (kB)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid and p not in tree]
        tree.update(kids)
        frontier += kids
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def peak_tree_mb(cmd):
    proc = subprocess.Popen(
        cmd, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.01)
    return peak / 1024


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results = tmp / "results.json"

        def run(cmd):
            subprocess.run(cmd, cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL)

        bare = median_seconds(
            lambda: run([sys.executable, "-c", "import numpy, scipy.stats"]), repeats=7
        )
        grade = median_seconds(lambda: run(_grade_cmd(SOLUTION_PATH, results)), repeats=7)
        print(f"bare 'import numpy, scipy.stats':        median {bare:.3f} s (7 runs)")
        print(f"grading the reference (vectorised):      median {grade:.3f} s (7 runs)")
        print(f"  ratio grading / bare import:           {grade / bare:.2f}x   (goal <= 2.5x)")
        drawn, plain = interleaved_medians(
            [_grade_cmd(SOLUTION_PATH, results), _grade_cmd(SOLUTION_PATH, results, "--no-figures")]
        )
        print(f"reference with its figure:               median {drawn:.3f} s (9 runs)")
        print(
            f"reference with --no-figures:             median {plain:.3f} s (9 runs, interleaved)"
        )
        print(f"  ratio with / without figures:          {drawn / plain:.2f}x   (goal <= 1.3x)")

        hangs = tmp / "hangs.py"
        hangs.write_text(HANGS)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            run(_grade_cmd(hangs, results))
            times.append(time.perf_counter() - start)
        print(
            f"every call hangs (default limits):       median {statistics.median(times):.1f} s "
            "(3 runs)   (goal < 60 s)"
        )

        print(
            "peak RSS grader + worker + drawer, reference: "
            f"{peak_tree_mb(_grade_cmd(SOLUTION_PATH, results)):.0f} MB"
        )
        bomb = tmp / "bomb.py"
        bomb.write_text(BOMB)
        print(
            "peak RSS grader + worker + drawer, bomb:      "
            f"{peak_tree_mb(_grade_cmd(bomb, results)):.0f} MB   (goal < 768 MB)"
        )


if __name__ == "__main__":
    main()
