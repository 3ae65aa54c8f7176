"""Grade one submission: sandbox -> checks -> report.

``grade_submission`` is the one path every grading takes (the CLI, Gradescope's
run_autograder, the batch regrader). Student code runs only inside ``grader.sandbox``'s
worker process; this process holds the trusted reference and judges validated data.

Results are built the way gradescope-utils is meant to be used: each registered check is a
unittest test decorated with its weight, number and visibility (the registry's defaults, or
grader/config.ini's), run by its ``JSONTestRunner``, whose ``post_processor`` completes the
JSON with what the runner cannot express (grader/report.py) before we write it ourselves,
atomically. gradescope-utils stays because it is Gradescope's own reference for the format.
"""

import argparse
import functools
import io
import json
import sys
import tempfile
import time
import traceback
import unittest
from pathlib import Path

from gradescope_utils.autograder_utils.decorators import number, visibility, weight
from gradescope_utils.autograder_utils.json_test_runner import JSONTestRunner

from grader import checks, lockdown, notebook, report, secret
from grader import config as config_module
from grader.paths import SUBMISSION_FILENAME

MISSING_MESSAGE = (
    "No gmm1d.py was found in your upload, so nothing could be graded. "
    "Upload your finished gmm1d.py (it must define class GMM1D)."
)
UNFINISHED_MESSAGE = (
    "The grader stopped before this check ran, so no points were given. "
    "Please resubmit; if this happens again, tell your instructor."
)
OUR_SIDE_MESSAGE = (
    "The autograder could not run your code because of a problem on our side "
    "(not your code's fault). Please tell your instructor: the details are in the "
    "autograder's log."
)


def _outcome(run_check, check_id):
    try:
        return run_check(check_id)
    except Exception:  # a bug in a check must not cost the student silently
        print(f"grader: internal error in check {check_id}:", file=sys.__stderr__)
        traceback.print_exc(file=sys.__stderr__)
        return checks.Outcome(
            False,
            "The grader hit an internal error in this check (not your code's fault); "
            "your instructor can see the details.",
            internal_error=True,
        )


def _suite(cfg, run_check, outcomes):
    """One gradescope-utils test per registered check, in grading order, decorated with its
    settings; a passing test prints its feedback, a failing one fails with it."""

    class LabChecks(unittest.TestCase):
        pass

    names = []
    for num, check_id in enumerate(checks.ids(), 1):

        def method(self, check_id=check_id):
            outcome = outcomes[check_id] = _outcome(run_check, check_id)
            if not outcome.passed:
                self.fail(report.test_text(outcome))
            print(report.test_text(outcome))  # the runner keeps what a passing test printed

        settings = cfg.checks[check_id]
        method.__doc__ = checks.REGISTRY[check_id].title
        method = weight(settings.points)(number(num)(visibility(settings.visibility)(method)))
        names.append(f"test_{num:02d}_{check_id}")
        setattr(LabChecks, names[-1], method)
    return unittest.TestSuite(LabChecks(name) for name in names)


def _run(cfg, run_check, *, note, started, extra):
    """Run the suite with gradescope-utils' runner; returns its results, completed."""
    outcomes = {}

    def post_process(json_data):
        score = sum(float(test.get("score", 0)) for test in json_data.get("tests", []))
        summary = (
            f"Score: {score:g}/{cfg.max_score:g}. "
            "Each check below says what was expected and what came back."
        )
        report.complete(
            json_data,
            [(check_id, outcomes.get(check_id)) for check_id in checks.ids()],
            output=(note.strip() + "\n\n" if note.strip() else "") + summary,
            execution_time=time.monotonic() - started,
            visibility=cfg.visibility,
            stdout_visibility=cfg.stdout_visibility,
            extra=extra,
        )

    data_stream = io.StringIO()
    JSONTestRunner(stream=data_stream, post_processor=post_process, failure_prefix="").run(
        _suite(cfg, run_check, outcomes)
    )
    return json.loads(data_stream.getvalue())


def _not_run(_check_id):
    return checks.Outcome(False, UNFINISHED_MESSAGE)


def grade_submission(
    submission, results_path=None, *, note="", limits=None, config=None, course_secret=None
):
    """Grade ``submission`` (a path, or None when nothing gradable was uploaded).

    Writes a Gradescope results.json to ``results_path`` (if given) and returns it as a dict.
    A placeholder that awards nothing is written first, so a grader killed midway still
    leaves a valid file. ``course_secret`` (a secret.CourseSecret) keys the generated inputs
    (default: grader/course_secret, or the development secret). Raises config.ConfigError for
    a bad config, secret.SecretError for a bad secret file.
    """
    started = time.monotonic()
    cfg = config if config is not None else config_module.load()
    course_secret = course_secret if course_secret is not None else secret.load()
    lockdown.protect_checkout()  # as root: the sandbox user must not read the solution
    if results_path is not None:
        # What results.json says until grading finishes: nothing awarded, and why.
        placeholder = _run(cfg, _not_run, note=note, started=started, extra={"complete": False})
        report.write_atomic(results_path, placeholder)

    submission = Path(submission) if submission is not None else None
    extra = {
        "submission": submission.name if submission else None,
        "inputs": course_secret.label,  # which secret keyed them, never the secret
        "complete": True,
    }
    missing, converted = MISSING_MESSAGE, None
    if notebook.is_notebook(submission) and submission.is_file():
        try:  # parsed here, never run: its code runs only in the worker, like a .py
            converted = notebook.load(submission)
            note = "\n\n".join(filter(None, [note, notebook.note(converted, submission.name)]))
        except notebook.NotebookError as exc:  # nothing gradable: every check says why
            submission, missing = None, notebook.unreadable_message(submission.name, exc)
    if submission is None or not submission.is_file():
        data = _run(
            cfg,
            lambda _id: checks.Outcome(False, missing),
            note=note,
            started=started,
            extra=extra,
        )
        return _finish(data, results_path)
    from grader.sandbox import Sandbox, SandboxError

    sandbox = None
    try:  # one finally for everything after the worker starts: it is always closed
        try:
            sandbox = _sandbox(Sandbox, submission, converted, limits or cfg.limits)
            for warning in sandbox.support.warnings():
                print(f"grader: WARNING: {warning}", file=sys.stderr)
            sandbox.start()  # the worker imports numpy while we load the reference
            extra["sandbox"] = sandbox.confinement.as_dict()
            print(f"grader: {sandbox.confinement.summary()}", file=sys.stderr)
            ctx = checks.Context.for_grading(sandbox, checks.load_reference(), course_secret)
            run_check = functools.partial(checks.run, ctx=ctx)
        except SandboxError as exc:
            print(f"grader: sandbox error (our side): {exc}", file=sys.stderr)
            extra["grader_error"] = str(exc)
            run_check = _our_side
        data = _run(cfg, run_check, note=note, started=started, extra=extra)
        # Written before the sandbox closes: whatever the student's code left behind, its
        # cleanup can never change or erase this grade (and close() never raises).
        return _finish(data, results_path)
    finally:
        if sandbox is not None:
            sandbox.close()


def _sandbox(sandbox_class, submission, converted, limits):
    """The Sandbox of an upload; a notebook's converted Python is staged as gmm1d.py for the
    moment the Sandbox reads it (once, in its constructor), then removed."""
    if converted is None:
        return sandbox_class(submission, limits)
    with tempfile.TemporaryDirectory(prefix="gmm1d-notebook-") as scratch:
        staged = Path(scratch) / SUBMISSION_FILENAME
        staged.write_text(converted.source, encoding="utf-8")
        return sandbox_class(staged, limits)


def _our_side(_check_id):
    return checks.Outcome(False, OUR_SIDE_MESSAGE, internal_error=True)


def _finish(data, results_path):
    """Validate our own results, write them (if asked) and return them."""
    found = report.problems(data)
    if found:  # never expected: our own output failed our own validation
        raise RuntimeError("grader produced invalid results: " + "; ".join(found))
    if results_path is not None:
        report.write_atomic(results_path, data)
    return data


def main(argv):
    parser = argparse.ArgumentParser(
        prog="python -m grader",
        description="Grade one gmm1d.py or gmm1d.ipynb: print a table and write a Gradescope "
        "results.json.",
        epilog="Subcommands: 'python -m grader autograde' (the Gradescope flow), "
        "'python -m grader batch' (a class export).",
    )
    parser.add_argument(
        "submission",
        type=Path,
        help="the student's gmm1d.py or gmm1d.ipynb (a missing file is graded as "
        "'nothing uploaded')",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("results/results.json"),
        help="where to write results.json (default: %(default)s)",
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="grading config (default: grader/config.ini)"
    )
    parser.add_argument(
        "--note", default="", help="text put first in the feedback (e.g. which file was graded)"
    )
    parser.add_argument(
        "--secret",
        type=Path,
        default=None,
        help="the course secret that keys the generated inputs (default: grader/course_secret)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print the table")
    args = parser.parse_args(argv)
    try:
        cfg = config_module.load(args.config)
        course_secret = secret.load(args.secret)
    except (config_module.ConfigError, secret.SecretError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    submission = args.submission if args.submission.exists() else None
    note = args.note or ("" if submission else f"{args.submission.name} does not exist.")
    data = grade_submission(
        submission, args.results, note=note, config=cfg, course_secret=course_secret
    )
    if not args.quiet:
        print(report.format_table(data))
        print(f"results written to {args.results}")
    return 0
