"""Which system calls a confined worker makes after its seccomp filter is loaded (strace).

How the allow-list in grader/sandbox/seccomp.py was measured, and how to measure it again
on another libc, Python or numpy/scipy/matplotlib (as root, strace installed)::

    .venv/bin/python -m tests.seccomp_trace tests/submissions/*/*.py solution/gmm1d.py

Each file is graded (``python -m grader``) with the worker's interpreter wrapped in
``strace -DDD -f`` (the tracer detached, so the worker keeps its pid and parent); the calls
after the worker's ``seccomp(SECCOMP_SET_MODE_FILTER, ...) = 0`` are what the filter sees.
Prints each call's name, how many files made it, and for the calls the filter checks by
argument (ioctl, fcntl, prctl, ...) the arguments seen. A call the filter refuses shows up
with ``= -1 EPERM`` and is listed apart. Not a test: a tool (it needs strace and takes
seconds per file).
"""

import collections
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOADED = re.compile(r"seccomp\(SECCOMP_SET_MODE_FILTER, [^,]*, \{len=\d+.*\) = 0")
CALL = re.compile(r"^(\d+) +(?:<\.\.\. )?([a-z_0-9]+)(?:\(| resumed>)(.*)$")
ARGUMENT_SHOWN = {"ioctl": 1, "fcntl": 1, "prctl": 0, "prlimit64": 0, "madvise": 2}
ARGUMENT_SHOWN |= {"mmap": 3, "mprotect": 2, "rt_sigprocmask": 0, "futex": 1, "mbind": 2}

WRAPPER = """#!/bin/sh
exec strace -DDD -f -qq -s 0 -o "{logs}/w.$$" {python} "$@"
"""
DRIVER = (
    "import sys; sys.executable = {wrapper!r}; from grader.__main__ import main; "
    "sys.exit(main(sys.argv[1:]))"
)


def trace(files, python=None):
    """{call name: {file, ...}}, {(call, argument): {file, ...}}, {refused call: {file...}}."""
    python = python or sys.executable
    calls, arguments, refused = (collections.defaultdict(set) for _ in range(3))
    with tempfile.TemporaryDirectory(prefix="gmm1d-seccomp-trace-") as scratch:
        logs = pathlib.Path(scratch, "logs")
        logs.mkdir()
        os.chmod(scratch, 0o755)  # the wrapper runs as the grader (the worker drops its uid later)
        wrapper = pathlib.Path(scratch, "python")
        wrapper.write_text(WRAPPER.format(logs=logs, python=python))
        wrapper.chmod(0o755)
        for file in files:
            for old in logs.iterdir():
                old.unlink()
            subprocess.run(
                [sys.executable, "-c", DRIVER.format(wrapper=str(wrapper)), str(file),
                 "--results", os.path.join(scratch, "results.json")],
                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                timeout=600,
            )  # fmt: skip
            for log in logs.iterdir():
                _parse(log.read_text(errors="replace"), file, calls, arguments, refused)
    return calls, arguments, refused


def _parse(text, file, calls, arguments, refused):
    loaded = LOADED.search(text)
    if not loaded:
        return
    for line in text[loaded.end() :].splitlines():
        found = CALL.match(line)
        if not found:
            continue
        name, rest = found.group(2), found.group(3)
        if "resumed>" in line.split(name, 1)[1][:9]:
            continue  # counted at its start
        calls[name].add(file)
        if name in ARGUMENT_SHOWN:
            args = [a.strip() for a in rest.split(",")]
            index = ARGUMENT_SHOWN[name]
            if index < len(args):
                arguments[(name, args[index].split(")")[0])].add(file)
        if "= -1 EPERM" in rest:
            refused[name].add(file)


def main(argv):
    files = [pathlib.Path(a).resolve() for a in argv]
    calls, arguments, refused = trace(files)
    print(f"{len(files)} files; calls after the filter is loaded (name: files that made it)")
    for name in sorted(calls):
        print(f"  {name}: {len(calls[name])}")
    print("arguments of the calls filtered by argument:")
    for (name, value), where in sorted(arguments.items()):
        print(f"  {name} {value}: {len(where)}")
    print("refused with EPERM:")
    for name, where in sorted(refused.items()):
        print(f"  {name}: {', '.join(sorted(p.name for p in where))[:300]}")


if __name__ == "__main__":
    main(sys.argv[1:])
