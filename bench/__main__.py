"""Run the benchmarks: ``python -m bench [NAME ...]`` (default: all ``bench_*.py``).

Figures are medians of repeated runs; these machines are noisy, so compare ratios
measured in the same process rather than absolute times across runs.
"""

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv):
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    wanted = [a if a.startswith("bench_") else f"bench_{a}" for a in argv] or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}")
    for name in wanted:
        print(f"== {name[len('bench_') :]} ==", flush=True)
        importlib.import_module(f"bench.{name}").main()
        print(flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
