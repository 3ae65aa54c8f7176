"""Grade one submission: sandbox -> checks -> report.

``grade_submission`` is the one path every grading takes (the CLI, Gradescope's
run_autograder, the batch regrader). Student code runs only inside ``grader.sandbox``'s
worker process; this process holds the trusted reference and judges validated data.

It runs every registered check in grading order, with its points and visibility (the
registry's defaults, or grader/config.ini's), and returns what they found as the neutral
:class:`grader.result.GradingResult`; each platform's format is a writer of it
(grader/writers/). Gradescope's results.json is written from it, atomically.

gradescope-utils is not used. Its ``JSONTestRunner`` ran each check as a unittest test and
wrote Gradescope's JSON; once the result is neutral, that JSON is one writer among several
and the runner would only stand between the checks and it: its decorators repeat what the
registry and config.ini hold, its output had to be mended (execution_time as a string,
scores never clamped to their weight, NaN written literally) and cannot carry a picture
(an ``html`` output). The format is Gradescope's published one, checked by an independent
validator in the tests (tests/results_schema.py).
"""

import argparse
import functools
import sys
import tempfile
import time
import traceback
from pathlib import Path

from grader import checks, lockdown, notebook, report, secret, versions
from grader import config as config_module
from grader.paths import SUBMISSION_FILENAME
from grader.result import CheckResult, GradingResult
from grader.writers.gradescope import to_gradescope_dict
from grader.writers.terminal import format_table

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


def _figures(draw, outcomes) -> dict:
    """check id -> the figures of its numbers, drawn by ``draw`` in one call (None: no
    figures)."""
    wanted = [(check_id, o.figure_data) for check_id, o in outcomes if o.figure_data is not None]
    if draw is None or not wanted:
        return {}
    try:
        drawn = draw([data for _, data in wanted])
    except Exception:  # a bug in a figure must not cost the grade: the text stands alone
        print("grader: internal error drawing the figures:", file=sys.__stderr__)
        traceback.print_exc(file=sys.__stderr__)
        return {}
    return {check_id: (figure,) for (check_id, _), figure in zip(wanted, drawn) if figure}


def grading_result(
    cfg, run_check, *, note, started, extra, gradable=True, draw=None
) -> GradingResult:
    """Run every check in grading order with ``run_check(check_id) -> Outcome`` and return
    what they found, with the points and visibilities of ``cfg``; ``draw`` (e.g.
    grader.drawer.draw_all) turns the numbers the checks handed out into their figures, in
    one call once every check has run."""
    outcomes = [(check_id, _outcome(run_check, check_id)) for check_id in checks.ids()]
    figures = _figures(draw, outcomes)
    results = []
    for num, (check_id, outcome) in enumerate(outcomes, 1):
        settings = cfg.checks[check_id]
        results.append(
            CheckResult(
                check_id=check_id,
                number=num,
                title=checks.REGISTRY[check_id].title,
                points=settings.points if outcome.passed else 0.0,
                max_points=settings.points,
                passed=outcome.passed,
                feedback=report.test_text(outcome),
                figures=figures.get(check_id, ()),
                mistakes=tuple(outcome.mistakes),
                visibility=settings.visibility,
                internal_error=outcome.internal_error,
            )
        )
    score = float(sum(result.points for result in results))
    summary = (
        f"Score: {score:g}/{cfg.max_score:g}. "
        "Each check below says what was expected and what came back."
    )
    unwritten = sorted({method for _, outcome in outcomes for method in outcome.unwritten})
    if unwritten:  # said once, here, and in one line by each check it fails
        one = len(unwritten) == 1
        summary = (
            f"**{checks.not_written(unwritten)}:** {'it' if one else 'they'} still "
            f"{'raises' if one else 'raise'} the starter's `NotImplementedError`, so every "
            f"check that calls {'it' if one else 'them'} fails. HANDOUT.md has the formulas; "
            "`python gmm1d.py` checks your work before you upload.\n\n" + summary
        )
    return GradingResult(
        checks=tuple(results),
        score=score,
        max_score=cfg.max_score,
        summary=(note.strip() + "\n\n" if note.strip() else "") + summary,
        execution_time=time.monotonic() - started,
        extra=dict(extra),
        gradable=gradable,
        visibility=cfg.visibility,
        stdout_visibility=cfg.stdout_visibility,
    )


def _run(cfg, run_check, *, note, started, extra) -> dict:
    """Gradescope's results dict of :func:`grading_result` (what the tests read)."""
    return to_gradescope_dict(
        grading_result(cfg, run_check, note=note, started=started, extra=extra)
    )


def _not_run(_check_id):
    return checks.Outcome(False, UNFINISHED_MESSAGE)


def grade_submission(
    submission,
    results_path=None,
    *,
    note="",
    limits=None,
    config=None,
    course_secret=None,
    figures=None,
):
    """Grade ``submission`` (a path, or None when nothing gradable was uploaded).

    Returns a :class:`grader.result.GradingResult`, and writes it as Gradescope's
    results.json to ``results_path`` (if given). ``figures`` (default: the config's
    ``[results] figures``) says whether the feedback carries pictures. A placeholder that
    awards nothing is written first, so a grader killed midway still leaves a valid file.
    ``course_secret`` (a secret.CourseSecret) keys the generated inputs
    (default: grader/course_secret, or the development secret). Raises config.ConfigError for
    a bad config, secret.SecretError for a bad secret file.
    """
    started = time.monotonic()
    cfg = config if config is not None else config_module.load()
    course_secret = course_secret if course_secret is not None else secret.load()
    draw = None
    if (cfg.figures if figures is None else figures) and submission is not None:
        from grader import drawer

        # Forked now: matplotlib's import (~0.3 s of CPU) runs on the other core while the
        # worker starts and the checks run, and the figures are drawn there (grader/drawer.py).
        drawer.start()
        draw = drawer.draw_all
    elif "grader.drawer" in sys.modules:  # started before we knew (grader/__main__.py)
        sys.modules["grader.drawer"].stop()
    lockdown.protect_checkout()  # as root without Landlock: keep the sandbox uid out
    if results_path is not None:
        # What results.json says until grading finishes: nothing awarded, and why.
        placeholder = grading_result(
            cfg, _not_run, note=note, started=started, extra={"complete": False}, gradable=False
        )
        report.write_atomic(results_path, to_gradescope_dict(placeholder))

    submission = Path(submission) if submission is not None else None
    extra = {
        "submission": submission.name if submission else None,
        "inputs": course_secret.label,  # which secret keyed them, never the secret
        "complete": True,
        "versions": versions.installed(),  # Python, numpy, scipy: what graded (grader/versions.py)
    }
    missing, converted = MISSING_MESSAGE, None
    if notebook.is_notebook(submission) and submission.is_file():
        try:  # parsed here, never run: its code runs only in the worker, like a .py
            converted = notebook.load(submission)
            note = "\n\n".join(filter(None, [note, notebook.note(converted, submission.name)]))
        except notebook.NotebookError as exc:  # nothing gradable: every check says why
            submission, missing = None, notebook.unreadable_message(submission.name, exc)
    if submission is None or not submission.is_file():
        result = grading_result(
            cfg,
            lambda _id: checks.Outcome(False, missing),
            note=note,
            started=started,
            extra=extra,
            gradable=False,
        )
        return _finish(result, results_path)
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
        result = grading_result(
            cfg, run_check, note=note, started=started, extra=extra,
            gradable="grader_error" not in extra, draw=draw,
        )  # fmt: skip
        # Written before the sandbox closes: whatever the student's code left behind, its
        # cleanup can never change or erase this grade (and close() never raises).
        return _finish(result, results_path)
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


def _finish(result, results_path):
    """Validate our own results.json, write it (if asked) and return the result."""
    data = to_gradescope_dict(result)
    found = report.problems(data)
    if found:  # never expected: our own output failed our own validation
        raise RuntimeError("grader produced invalid results: " + "; ".join(found))
    if results_path is not None:
        report.write_atomic(results_path, data)
    return result


SUBCOMMANDS = """subcommands (each has its own --help):
  python -m grader autograde   the Gradescope flow (run_autograder calls it)
  python -m grader batch       regrade a class: a Gradescope export or a folder of .py files
  python -m grader checks      list the checks, their ids, points and visibility
  python -m grader prairielearn  the PrairieLearn flow (its question's entrypoint calls it)"""


def main(argv):
    parser = argparse.ArgumentParser(
        prog="python -m grader",
        description="Grade one gmm1d.py or gmm1d.ipynb: print a table and write a Gradescope "
        "results.json.",
        epilog=SUBCOMMANDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("submission", type=Path, help="the student's gmm1d.py or gmm1d.ipynb")
    parser.add_argument(
        "--nothing-uploaded",
        action="store_true",
        help="grade SUBMISSION as nothing uploaded, as Gradescope does an upload without a "
        "gmm1d.py (every check fails, naming the file; the batch uses it)",
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
    parser.add_argument(
        "--no-figures",
        dest="figures",
        action="store_false",
        default=None,
        help="feedback without pictures (default: [results] figures in the config)",
    )
    args = parser.parse_args(argv)
    try:
        cfg = config_module.load(args.config)
        course_secret = secret.load(args.secret)
    except (config_module.ConfigError, secret.SecretError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    if args.nothing_uploaded:
        submission = None
    elif args.submission.is_file():
        submission = args.submission
    else:  # a typo on an instructor's command line is an error, never a student's zero
        why = "is not a file" if args.submission.exists() else "does not exist"
        print(f"grader: {args.submission} {why}", file=sys.stderr)
        return 2
    note = args.note
    result = grade_submission(
        submission,
        args.results,
        note=note,
        config=cfg,
        course_secret=course_secret,
        figures=args.figures,
    )
    if not args.quiet:
        print(format_table(result))
        print(f"results written to {args.results}")
    return 0
