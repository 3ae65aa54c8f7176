"""Sandbox overheads for the reference solution.

* start-up: spawn a worker until it has imported the submission ("loaded"); goal < 0.5 s,
  paid once per grading plus once per timeout/crash; with and without the kernel layers
  (GMM1D_SANDBOX_WITHOUT), interleaved, and what Landlock and seccomp cost inside the worker
  (it times itself); goal: at most 20 ms added per start;
* estep round trip (n=1000, k=3) through the sandbox, next to the same estep in-process:
  the difference is the per-call overhead (framing, pipes, validation); goal < 5 ms;
* the worker's peak RSS (VmHWM), against Limits.memory_mb (an address-space limit, which is
  larger than RSS).
"""

import importlib.util
import os
import statistics
import time

import numpy as np

from bench.common import median_seconds
from grader import paths
from grader.sandbox import Limits, Sandbox, isolation


def reference_model(params):
    """The reference GMM1D, in this process, with ``params`` set as (k, 1) columns."""
    spec = importlib.util.spec_from_file_location("bench_reference_gmm1d", paths.SOLUTION_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.GMM1D(len(params["priors"]))
    for name, value in params.items():
        setattr(model, name, np.array(value, dtype=float).reshape(-1, 1))
    return model


def _peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _start(limits, without):
    os.environ[isolation.WITHOUT_VARIABLE] = without
    try:
        with Sandbox(paths.SOLUTION_PATH, limits) as sandbox:
            began = time.perf_counter()
            assert sandbox.start() is None
            return time.perf_counter() - began, sandbox.confinement.seconds
    finally:
        del os.environ[isolation.WITHOUT_VARIABLE]


def main():
    limits = Limits(total_budget=1e9)
    # Without Landlock, a root grading cannot run an interpreter only root can reach (pyenv
    # under /root): the comparison then keeps Landlock and turns off seccomp only.
    without = "seccomp" if os.geteuid() == 0 else "landlock,seccomp"
    rounds = [(_start(limits, ""), _start(limits, without)) for _ in range(15)]
    confined = [a for (a, _), _ in rounds]
    plain = [b for _, (b, _) in rounds]
    layers = [s["landlock"] + s["seccomp"] for (_, s), _ in rounds]
    whole = [s["all"] for (_, s), _ in rounds]
    median = statistics.median
    print(f"worker start-up (spawn -> loaded), all layers: median {median(confined) * 1e3:.1f} ms"
          "  (goal < 500 ms)")  # fmt: skip
    added = median(a - b for a, b in zip(confined, plain))
    print(f"worker start-up without {without}: median {median(plain) * 1e3:.1f} ms; "
          f"added {added * 1e3:.1f} ms (median of interleaved pairs)")  # fmt: skip
    print(f"inside the worker: Landlock + seccomp median {median(layers) * 1e3:.2f} ms, "
          f"whole confinement (uid, limits, layers) {median(whole) * 1e3:.2f} ms "
          "(goal: at most 20 ms added)")  # fmt: skip

    X = np.random.RandomState(0).randn(1000, 1)
    params = {
        "priors": np.array([0.2, 0.3, 0.5]),
        "mus": np.array([-1.0, 0.0, 1.0]),
        "variances": np.array([1.0, 0.5, 2.0]),
    }
    with Sandbox(paths.SOLUTION_PATH, limits) as sandbox:
        assert sandbox.estep(3, params, X).ok
        through = median_seconds(lambda: sandbox.estep(3, params, X), repeats=51, warmup=3)
        local = reference_model(params)
        direct = median_seconds(lambda: local.estep(X.copy()), repeats=51, warmup=3)
        rss = _peak_rss_mb(sandbox.worker_pid)
    print(f"estep n=1000 k=3 through the sandbox: median {through * 1e3:.2f} ms")
    print(f"estep n=1000 k=3 in-process:          median {direct * 1e3:.3f} ms")
    print(f"per-call overhead: {(through - direct) * 1e3:.2f} ms  (goal < 5 ms)")
    print(f"worker peak RSS (VmHWM): {rss:.1f} MB  (RLIMIT_AS {limits.memory_mb} MB)")


if __name__ == "__main__":
    main()
