"""Small timing helpers shared by the benchmarks."""

import statistics
import time


def median_seconds(fn, repeats=5, warmup=1):
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
