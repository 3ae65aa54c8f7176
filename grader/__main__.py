"""Command line: ``python -m grader``.

python -m grader SUBMISSION --results PATH   grade one file (table + results.json)
python -m grader autograde                   the Gradescope flow (see grader/gradescope.py)
python -m grader prairielearn [--grade-root DIR]  the PrairieLearn flow (grader/prairielearn.py)
python -m grader batch ...                   regrade a class export (see grader/batch/)
python -m grader checks [--config PATH]      list the checks, their points and visibility
"""

import os
import sys


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "autograde":
        from grader import gradescope

        return gradescope.main(argv[1:])
    if argv and argv[0] == "prairielearn":
        from grader import prairielearn

        return prairielearn.main(argv[1:])
    if argv and argv[0] == "batch":
        from grader import batch

        return batch.main(argv[1:])
    if argv and argv[0] == "checks":
        return list_checks(argv[1:])
    from grader import grade

    return grade.main(argv)


def list_checks(argv):
    import argparse

    from grader import config
    from grader.checks import table

    parser = argparse.ArgumentParser(prog="python -m grader checks")
    parser.add_argument("--config", default=None, help="default: grader/config.ini")
    args = parser.parse_args(argv)
    try:
        print(table.text(config.load(args.config)))
    except config.ConfigError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    return 0


def _exit_now(code):
    """Leave without the interpreter's teardown: a grading has written its results and closed
    its sandbox by the time it returns, and the teardown of numpy's and scipy's modules (and
    matplotlib's, where the figures had to be drawn here, grader/drawer.py) only costs time."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    from grader import reaper

    args = sys.argv[1:]
    if args[:1] not in (["batch"], ["checks"]) and "--no-figures" not in args:
        import numpy  # noqa: F401 - imported once, before the fork: both processes need it

        from grader import drawer

        # Before the grader's own imports: the figures' process imports matplotlib on the
        # other core meanwhile (grader/drawer.py); a grading without figures stops it.
        drawer.start()
    # Nothing a grading started outlives it (grader/reaper.py): not in tests calling main().
    with reaper.reaping(during=args[:1] == ["batch"]):
        code = main(args)
    if not (args and args[0] in ("batch", "checks")):  # a grading: one file, or Gradescope's
        _exit_now(code)  # after the reaper has killed and reaped what the grading left
    sys.exit(code)
