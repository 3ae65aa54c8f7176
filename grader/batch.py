"""``python -m grader batch``: regrade a whole class export after the deadline.

    python -m grader batch SUBMISSIONS --out OUT [--jobs N] [--redo] [--timeout S]

SUBMISSIONS is a Gradescope "Export Submissions" download (unzipped folder or the zip) or a
folder of ``.py`` files (see :mod:`grader.export`). Writes

* ``OUT/results/<id>.json``: each submission's Gradescope results.json;
* ``OUT/logs/<id>.txt``: what the grader printed for it (its feedback table);
* ``OUT/grades.csv``: one row per submission, for the gradebook;
* ``OUT/report.html``: where the class struggled (:mod:`grader.class_report`);

and prints a summary. Rerunning skips submissions whose results file is already there and
valid (``--redo`` regrades them); the CSV and the report are always rebuilt from every
submission's results file.

Isolation: each submission is graded by its own ``python -m grader FILE --results PATH``
subprocess, exactly the command an instructor runs for one file, so the sandbox, limits and
scoring are the single-grade ones. N such subprocesses run at once (threads only wait on
them). Each starts in a new session so that a submission signalling its process group reaches
only its own grading, its output goes to a file (a stray grandchild holding a pipe open could
otherwise hang the batch), and a wall-clock timeout kills the whole group. A subprocess that
dies or times out without a valid results file gets a results file saying the grader failed on
our side; its CSV total is left empty (no grade, rather than a zero the student did not earn)
and the batch carries on. Results are written under a temporary name and renamed once
validated, so an interrupted batch never leaves a half-written file a rerun would trust.
"""

import argparse
import csv
import functools
import io
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from grader import paths
from grader.class_report import (
    Record,
    check_order,
    class_stats,
    format_number,
    grader_problem,
    render_report,
)
from grader.export import ExportError, Submission, load_export
from grader.sandbox import isolation
from grader.sandbox.cleanup import remove_tree

DEFAULT_OUT = Path("out/batch")
DEFAULT_TIMEOUT = 600.0  # per submission; the grader's own budget is far lower (grader/config.ini)
MAX_RESULTS_BYTES = 10_000_000  # Gradescope keeps ~100 kB per output field; 11 tests fit easily
LOG_TAIL_CHARS = 2000
CSV_FIXED = ["submission_id", "names", "sids", "emails", "total"]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def grade_command(
    submission: Path, results: Path, note: str = "", config: Path | None = None
) -> list[str]:
    """The single-grade command line (``make grade`` runs the same), plus the note saying
    which file of the upload was graded, as the Gradescope flow gives it."""
    cmd = [sys.executable, "-m", "grader", str(submission), "--results", str(results)]
    if note:
        cmd.append(f"--note={note}")  # one argument, even if the text starts with "-"
    if config is not None:
        cmd.append(f"--config={config}")
    return cmd


# ---------------------------------------------------------------------------------------------
# results files


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_results(path: Path) -> dict | None:
    """The results.json at ``path`` if it is one we can use, else None.

    Defensive: a size cap, strict JSON (no NaN/Infinity), a dict with a ``tests`` list whose
    entries have finite numeric ``score`` and ``max_score``, and a finite ``score`` if given.
    """
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_RESULTS_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        return None
    if "score" in data and not _is_number(data["score"]):
        return None
    for test in data["tests"]:
        if (
            not isinstance(test, dict)
            or not _is_number(test.get("score"))
            or not _is_number(test.get("max_score"))
        ):
            return None
    return data


def _previous_seconds(path: Path) -> float:
    """How long this submission took last time (0 if never graded). A rerun (--redo, or a
    retry after failures on our side) starts the slowest first: a submission that hangs for
    its whole time limit then overlaps the rest instead of finishing the batch alone.
    sorted() is stable, so first runs keep the export's order."""
    data = load_results(path) if path.exists() else None
    seconds = data.get("execution_time") if data else None
    return (
        float(seconds)
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
        else 0.0
    )


def is_graded(path: Path) -> bool:
    """A valid results file that is a grade (not a failure on our side, see grader_problem)."""
    data = load_results(path)
    return data is not None and not grader_problem(data)


def failure_results(reason: str, seconds: float, log_tail: str) -> dict:
    """The results.json written when the grader itself failed for a submission."""
    return {
        "score": 0,
        "execution_time": round(seconds, 3),
        "output": (
            f"The grader failed on our side for this submission ({reason}). This is not a grade: "
            "the batch recorded no score for it. Rerun the batch to retry."
        ),
        "tests": [],
        "extra_data": {"batch_error": reason, "grader_log_tail": log_tail},
    }


# ---------------------------------------------------------------------------------------------
# grading one submission


@dataclass
class Outcome:
    id: str
    status: str  # "graded" | "skipped" | "failed"
    seconds: float = 0.0
    detail: str = ""


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill a grader subprocess, its process group, and its sandbox workers (which run in
    sessions of their own, under uids derived from the grader's pid; root only)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except OSError:
        pass
    from grader.sandbox.cleanup import kill_workers_of

    kill_workers_of(proc.pid)


_running = set()  # grader subprocesses in flight, so an interrupted batch can kill them
_running_lock = threading.Lock()


def _kill_running() -> None:
    with _running_lock:
        procs = list(_running)
    for proc in procs:
        _kill_group(proc)


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - LOG_TAIL_CHARS))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def grade_one(
    sub: Submission,
    out: Path,
    timeout: float,
    missing_dir: Path,
    command: Callable[..., list[str]] = grade_command,
) -> Outcome:
    """Grade ``sub`` in its own subprocess; always leaves ``out/results/<id>.json``.

    Whatever goes wrong (a grader that cannot start, a file the submission's code locked,
    a bug of ours), it is this submission's failure only: recorded, never raised."""
    try:
        return _grade_one(sub, out, timeout, missing_dir, command)
    except Exception as exc:  # noqa: BLE001 - one submission's failure must not end the batch
        reason = f"the batch could not grade it ({type(exc).__name__}: {exc})"
        detail = traceback.format_exc()[-LOG_TAIL_CHARS:]
        try:
            _write_private(
                out / "results" / f"{sub.id}.json",
                json.dumps(failure_results(reason, 0.0, detail), indent=2),
            )
        except OSError as write_error:
            reason += f"; no results file could be written ({write_error})"
        return Outcome(sub.id, "failed", 0.0, reason)


def _grade_one(sub, out, timeout, missing_dir, command) -> Outcome:
    results_dir, logs_dir = out / "results", out / "logs"
    target = results_dir / f"{sub.id}.json"
    partial = results_dir / f".{sub.id}.partial.json"
    log = logs_dir / f"{sub.id}.txt"
    partial.unlink(missing_ok=True)
    # Nothing gradable: hand the grader a path that certainly does not exist, so it reports the
    # missing file exactly as a single grade would (never a stray link left in the folder).
    submission = (
        sub.path if sub.path is not None else missing_dir / sub.id / paths.SUBMISSION_FILENAME
    )
    start = time.monotonic()
    reason = ""
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            command(submission, partial, sub.note),
            cwd=paths.PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        with _running_lock:
            _running.add(proc)
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.wait()
            returncode = None
            reason = f"timed out after {format_number(timeout)} s"
        finally:
            if proc.poll() is None:  # interrupted (Ctrl-C): leave no grader behind
                _kill_group(proc)
                proc.wait()
            with _running_lock:
                _running.discard(proc)
    seconds = time.monotonic() - start
    if returncode is not None:
        _kill_group(proc)  # the grader has exited: anything it left running in its group goes too
    results = load_results(partial) if not reason and returncode == 0 else None
    if results is not None:
        os.replace(partial, target)  # kept as the grader wrote it, even when it is not a grade
        problem = grader_problem(results)
        return Outcome(sub.id, "failed" if problem else "graded", seconds, problem)
    if not reason:
        reason = (
            f"the grader exited with code {returncode}"
            if returncode
            else "the grader wrote no valid results file"
        )
    partial.unlink(missing_ok=True)
    _write_private(target, json.dumps(failure_results(reason, seconds, _tail(log)), indent=2))
    return Outcome(sub.id, "failed", seconds, reason)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the instructor only (mode 0600)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)  # an old tmp file may have had another mode
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# progress


class Progress:
    """``[#####.....] 12/40 graded (3 skipped)`` on a terminal; else one line per submission."""

    WIDTH = 30

    def __init__(self, total: int, skipped: int, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.skipped, self.done = total, skipped, skipped
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        if self.tty:
            self._draw()
        elif skipped:
            self._line(f"{skipped} already graded, skipped (--redo regrades them)")

    def _line(self, text):
        print(text, file=self.stream, flush=True)

    def _draw(self):
        filled = self.WIDTH * self.done // self.total if self.total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} graded ({self.skipped} skipped)")
        self.stream.flush()

    def update(self, outcome: Outcome):
        self.done += 1
        if self.tty:
            if outcome.status == "failed":
                self.stream.write(f"\r\x1b[K{outcome.id}: grader failed ({outcome.detail})\n")
            self._draw()
        else:
            what = "graded" if outcome.status == "graded" else f"GRADER FAILED: {outcome.detail}"
            self._line(f"[{self.done}/{self.total}] {outcome.id}: {what} ({outcome.seconds:.1f} s)")

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------------------------------------
# grades.csv


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ is prefixed with a quote,
    so a student named ``=HYPERLINK(...)`` is shown as text, not run by the gradebook."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def write_grades_csv(path: Path, records: Sequence[Record]) -> list[str]:
    """Write grades.csv (rows sorted by id, mode 0600); returns the check columns, in order."""
    checks = check_order(records)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIXED + checks)
    for r in sorted(records, key=lambda r: r.id):
        text = [r.id, "; ".join(r.names), "; ".join(r.sids), "; ".join(r.emails)]
        numbers = [format_number(r.total)]  # plain numbers from format_number: never formulas
        numbers += [format_number(r.checks[c].score) if c in r.checks else "" for c in checks]
        writer.writerow([_cell(v) for v in text] + numbers)
    _write_private(path, buffer.getvalue())
    return checks


# ---------------------------------------------------------------------------------------------
# the batch


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def run_batch(
    source: Path,
    out: Path,
    jobs: int | None = None,
    redo: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    config: Path | None = None,
    command: Callable[..., list[str]] | None = None,
    progress_stream=None,
):
    """Grade every submission in ``source`` into ``out``; returns (records, outcomes).

    ``config``: a grading config for the grader (default grader/config.ini). ``command(file,
    results, note)`` builds the per-submission command line; tests substitute a stand-in.
    """
    if command is None:
        command = functools.partial(grade_command, config=config)
    out = Path(out)
    jobs = jobs or _default_jobs()
    make_private_out(out)
    # mkdtemp: mode 0700, so no sandboxed worker can read another student's extracted upload.
    scratch = Path(tempfile.mkdtemp(prefix="grader-batch-"))
    try:
        submissions = load_export(Path(source), scratch / "export")
        missing_dir = scratch / "missing"
        todo = [s for s in submissions if redo or not is_graded(out / "results" / f"{s.id}.json")]
        todo.sort(key=lambda s: -_previous_seconds(out / "results" / f"{s.id}.json"))
        todo_ids = {s.id for s in todo}
        outcomes = [Outcome(s.id, "skipped") for s in submissions if s.id not in todo_ids]
        progress = Progress(len(submissions), len(outcomes), progress_stream)
        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            futures = [pool.submit(grade_one, s, out, timeout, missing_dir, command) for s in todo]
            for future in as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                progress.update(outcome)
        except BaseException:  # Ctrl-C: stop queued gradings, kill the running ones, then leave
            pool.shutdown(wait=False, cancel_futures=True)
            _kill_running()
            raise
        finally:
            pool.shutdown(wait=True)
            progress.close()
    finally:
        remove_tree(scratch)  # the extracted uploads: any tree a student's zip could hold

    records = []
    for sub in submissions:
        results = load_results(out / "results" / f"{sub.id}.json")
        if results is None:  # vanished or corrupted since; never silently drop a student
            results = failure_results("its results file is missing or invalid", 0.0, "")
        records.append(
            Record.from_results(
                sub.id,
                results,
                names=[s.name for s in sub.submitters],
                sids=[s.sid for s in sub.submitters],
                emails=[s.email for s in sub.submitters],
            )
        )
    write_grades_csv(out / "grades.csv", records)
    stats = class_stats(records)
    _write_private(out / "report.html", render_report(stats, f"Class regrade: {Path(source).name}"))
    return records, outcomes


def make_private_out(out: Path) -> None:
    """OUT and its results/ and logs/ folders, mode 0700: names, SIDs, emails and every
    student's feedback are for the instructor only (and, as root, out of every sandbox uid's
    reach). OUT must be a folder of the instructor's own, never a shared one such as /tmp."""
    out.mkdir(parents=True, exist_ok=True)
    info = out.stat()
    if info.st_uid != os.geteuid() or info.st_mode & 0o002:
        raise ExportError(
            f"--out {out} is not a folder of your own (it is shared or someone else's): "
            "choose a new folder, e.g. out/batch"
        )
    for folder in (out, out / "results", out / "logs"):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, 0o700)


def summary(
    records: Sequence[Record], outcomes: Sequence[Outcome], out: Path, seconds: float, jobs: int
) -> str:
    stats = class_stats(records)
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
    if stats.unconfined:
        lines.append(
            f"WARNING: {len(stats.unconfined)} submission(s) ran without a kernel layer: "
            + "; ".join(stats.unconfined[0].sandbox_off)
        )
    lines.append(
        f"Wrote {out / 'grades.csv'}, {out / 'report.html'} and {out / 'results'}/<id>.json"
    )
    return "\n".join(lines)


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
    jobs = args.jobs or _default_jobs()
    start = time.monotonic()
    try:
        records, outcomes = run_batch(
            args.submissions, args.out, jobs, args.redo, args.timeout, args.config
        )
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary(records, outcomes, args.out, time.monotonic() - start, jobs))
    return 1 if any(r.total is None for r in records) else 0
