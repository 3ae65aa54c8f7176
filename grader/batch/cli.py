"""``python -m grader batch``: the command line, its refusal to run unconfined, and the
summary it prints.
"""

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from grader import config, secret
from grader.batch.export import ExportError
from grader.batch.jobs import DEFAULT_TIMEOUT, default_jobs, run_batch
from grader.batch.progress import JobResult
from grader.batch.records import Record, format_number
from grader.batch.stats import class_stats
from grader.sandbox import isolation

DEFAULT_OUT = Path("out/batch")


def summary(
    records: Sequence[Record], outcomes: Sequence[JobResult], out: Path, seconds: float, jobs: int
) -> str:
    stale = [o.id for o in outcomes if o.status == "stale"]
    outcomes = [o for o in outcomes if o.status != "stale"]
    stats = class_stats(records, stale)
    graded_now = sum(1 for o in outcomes if o.status != "skipped")
    skipped = len(outcomes) - graded_now
    lines = [
        f"{len(records)} submissions: {graded_now} graded now, {skipped} skipped as already graded "
        f"({seconds:.1f} s, {jobs} at a time)."
    ]
    if stats.graded:
        lines.append(
            f"Scores (out of {format_number(stats.max_total)}): count {len(stats.graded)}, "
            f"mean {stats.mean:.2f}, median {format_number(stats.median)}"
        )
    else:
        lines.append("No submission was graded.")
    if stats.most_failed:
        failed = ", ".join(
            f"{c.check} ({c.failed} of {c.graded} failed)" for c in stats.most_failed
        )
        lines.append(f"Most-failed checks: {failed}")
    if stats.errors:
        lines.append(
            f"The grader failed on our side for {len(stats.errors)} submission(s) "
            "(no grade recorded; "
            "rerun to retry):"
        )
        lines += [f"  {r.id}: {r.error}" for r in stats.errors]
    for layers, count in stats.sandboxes:
        lines.append(f"Sandbox: {layers} ({count} submission(s))")
    lines += [f"  {r.id}: no sandbox record: {r.no_sandbox_why}" for r in stats.no_sandbox]
    for label, count in stats.inputs:
        lines.append(f"Inputs: {label} ({count} submission(s))")
    if len(stats.inputs) > 1:
        lines.append(
            "WARNING: these results were graded under different secrets (kept from an earlier "
            "run); --redo regrades them all under this one"
        )
    if stats.unconfined:
        lines.append(
            f"WARNING: {len(stats.unconfined)} submission(s) ran without a kernel layer: "
            + "; ".join(stats.unconfined_reasons)
        )
    if stats.stale:
        lines.append(
            f"Set aside in {out / 'stale'}: results of {len(stats.stale)} upload(s) no longer in "
            f"the source: {', '.join(stats.stale)}"
        )
    similar = _similar_pairs(out)
    if similar:
        lines.append(f"Similarity: {similar} pair(s) flagged (similarity.csv, report.html)")
    lines.append(
        f"Wrote {out / 'grades.csv'}, {out / 'canvas.csv'}, {out / 'similarity.csv'}, "
        f"{out / 'report.html'} and {out / 'results'}/<id>.json"
    )
    return "\n".join(lines)


def _similar_pairs(out: Path) -> int:
    try:
        return max(0, len((out / "similarity.csv").read_text().splitlines()) - 1)
    except OSError:
        return 0


def unconfined_refusal(support, allowed) -> str:
    """Why a batch must not run here ("" when it may), and the warnings it runs with.

    As root every grading has its own uid; on a normal account only Landlock keeps one
    student's code away from the others' uploads and results (they all run as you).
    """
    for warning in support.warnings():
        print(f"WARNING: {warning}", file=sys.stderr)
    if support.root or support.landlock_abi or allowed:
        return ""
    return (
        f"{support.landlock_why}. On a normal account nothing else keeps a submission from "
        "reading your files and rewriting other students' results. Grade on Linux 5.13+ (on "
        "macOS or Windows, inside a Linux container), as root, or pass --allow-unconfined "
        "to grade anyway."
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader batch",
        description="Regrade a Gradescope export (folder or zip) or a folder of .py files.",
    )
    parser.add_argument(
        "submissions", type=Path, help="export folder, export zip, or folder of .py files"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="submissions graded at once (default: all cores)"
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="grading config (default: grader/config.ini)"
    )
    parser.add_argument(
        "--redo", action="store_true", help="regrade submissions that already have results"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds before one submission's grading is killed "
        f"(default {format_number(DEFAULT_TIMEOUT)})",
    )
    parser.add_argument(
        "--secret",
        type=Path,
        default=None,
        help="the course secret that keys the generated inputs; use Gradescope's to reproduce "
        "its grades (default: grader/course_secret)",
    )
    parser.add_argument(
        "--assignment",
        default="",
        help="the assignment's name in canvas.csv's grade column (default: the source's name)",
    )
    parser.add_argument(
        "--allow-unconfined",
        action="store_true",
        help="grade on a normal account even without Landlock (student code can then read "
        "your files, use the network and change other students' results)",
    )
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if not args.timeout > 0:
        parser.error("--timeout must be positive")
    refusal = unconfined_refusal(isolation.kernel_support(), args.allow_unconfined)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    try:  # what every grading would refuse stops the batch at once, not once per submission
        config.load(args.config)
        secret.load(args.secret)
    except (config.ConfigError, secret.SecretError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    jobs = args.jobs or default_jobs()
    start = time.monotonic()
    try:
        records, outcomes = run_batch(
            args.submissions,
            args.out,
            jobs,
            args.redo,
            args.timeout,
            args.config,
            args.secret,
            assignment=args.assignment,
        )
    except (ExportError, OSError) as exc:  # OSError: e.g. --out names a file
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary(records, outcomes, args.out, time.monotonic() - start, jobs))
    return 1 if any(r.total is None for r in records) else 0
