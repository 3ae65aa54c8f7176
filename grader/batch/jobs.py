"""Grading the submissions of a batch, ``--jobs`` at a time, each job slot a long-lived
grading process (grader/batch/slot.py, driven by grader/batch/slots.py) fed one upload at a
time; see grader/batch/__init__.py for the isolation.
"""

import os
import queue
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from grader import paths
from grader.batch import similarity
from grader.batch.export import Submission, load_export
from grader.batch.gradebook import write_gradebooks
from grader.batch.outputs import make_private_out, set_aside_stale
from grader.batch.page import render_report
from grader.batch.progress import JobResult, Progress
from grader.batch.records import Record, format_number, grader_problem
from grader.batch.results import (
    LOG_TAIL_CHARS,
    failure_results,
    is_graded,
    load_results,
    previous_seconds,
    write_failure,
    write_private,
)
from grader.batch.slots import ProcessRunner, SlotRunner, kill_running
from grader.batch.stats import class_stats
from grader.sandbox.cleanup import remove_tree

DEFAULT_TIMEOUT = 600.0  # per submission; the grader's own budget is far lower (grader/config.ini)


def grade_args(submission, results, note="", config=None, secret=None) -> list[str]:
    """The single-grade command's arguments (``python -m grader ARGS``), plus the note saying
    which file of the upload was graded, as the Gradescope flow gives it."""
    args = [str(submission), "--results", str(results)]
    if not Path(submission).is_file():  # nothing gradable: graded as Gradescope grades it
        args.append("--nothing-uploaded")
    if note:
        args.append(f"--note={note}")  # one argument, even if the text starts with "-"
    if config is not None:
        args.append(f"--config={config}")
    if secret is not None:
        args.append(f"--secret={secret}")  # a path: the secret itself is never on a command line
    return args


def grade_command(submission, results, note="", config=None, secret=None) -> list[str]:
    """The single-grade command line (``make grade`` runs the same)."""
    return [sys.executable, "-m", "grader"] + grade_args(submission, results, note, config, secret)


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - LOG_TAIL_CHARS))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def grade_one(sub: Submission, out: Path, timeout: float, missing_dir: Path, runner) -> JobResult:
    """Grade ``sub`` with ``runner``; always leaves ``out/results/<id>.json``.

    Whatever goes wrong (a grader that cannot start, a file the submission's code locked,
    a bug of ours), it is this submission's failure only: recorded, never raised."""
    try:
        return _grade_one(sub, out, timeout, missing_dir, runner)
    except Exception as exc:  # noqa: BLE001 - one submission's failure must not end the batch
        reason = f"the batch could not grade it ({type(exc).__name__}: {exc})"
        detail = traceback.format_exc()[-LOG_TAIL_CHARS:]
        try:
            write_failure(out / "results" / f"{sub.id}.json", reason, 0.0, detail)
        except OSError as write_error:
            reason += f"; no results file could be written ({write_error})"
        return JobResult(sub.id, "failed", 0.0, reason)


def _grade_one(sub, out, timeout, missing_dir, runner) -> JobResult:
    target = out / "results" / f"{sub.id}.json"
    partial = out / "results" / f".{sub.id}.partial.json"
    log = out / "logs" / f"{sub.id}.txt"
    partial.unlink(missing_ok=True)
    # Nothing gradable: hand the grader a path that certainly does not exist (never a stray link
    # left in the folder) and --nothing-uploaded (grade_args), so it reports the missing file
    # exactly as the Gradescope flow would.
    submission = (
        sub.path if sub.path is not None else missing_dir / sub.id / paths.SUBMISSION_FILENAME
    )
    start = time.monotonic()
    for _attempt in (1, 2):  # a slot that crashed is replaced and the upload retried once
        partial.unlink(missing_ok=True)
        ended = runner.grade(submission, partial, sub.note, log, timeout)
        if not ended.crashed:
            break
    seconds = time.monotonic() - start
    results = load_results(partial) if ended.code == 0 else None
    if results is not None:
        os.chmod(partial, 0o600)  # the grader writes results.json 0644, as for Gradescope
        os.replace(partial, target)  # kept as the grader wrote it, even when it is not a grade
        problem = grader_problem(results)
        return JobResult(sub.id, "failed" if problem else "graded", seconds, problem)
    if ended.timed_out:
        reason = f"timed out after {format_number(timeout)} s"
    elif ended.crashed:
        reason = f"{ended.detail}, twice (once retried in a new process)"
    elif ended.code:
        reason = f"the grader exited with code {ended.code}"
    else:
        reason = "the grader wrote no valid results file"
    partial.unlink(missing_ok=True)
    write_failure(target, reason, seconds, _tail(log))
    return JobResult(sub.id, "failed", seconds, reason)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _grade_all(todo, out, jobs, timeout, missing_dir, make_runner, progress, outcomes):
    """``jobs`` threads, each driving one runner (one slot process), take the uploads in
    order; the main thread records outcomes as they come."""
    tasks: queue.Queue = queue.Queue()
    for sub in todo:
        tasks.put(sub)
    done: queue.Queue = queue.Queue()
    stop = threading.Event()  # Ctrl-C: no new grading, no new slot (slots.Interrupted)

    def drive(number):
        runner = make_runner(number, stop)
        try:
            while not stop.is_set():
                try:
                    sub = tasks.get_nowait()
                except queue.Empty:
                    return
                done.put(grade_one(sub, out, timeout, missing_dir, runner))
        finally:
            runner.close()

    threads = [threading.Thread(target=drive, args=(n,), daemon=True) for n in range(jobs)]
    for thread in threads:
        thread.start()
    try:
        for _ in todo:
            outcome = done.get()
            outcomes.append(outcome)
            progress.update(outcome)
    except BaseException:  # Ctrl-C: stop queued gradings, kill the running ones, then leave
        stop.set()
        kill_running()
        raise
    finally:
        for thread in threads:
            thread.join()
        progress.close()


def run_batch(
    source: Path,
    out: Path,
    jobs: int | None = None,
    redo: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    config: Path | None = None,
    secret: Path | None = None,
    command=None,
    progress_stream=None,
    slot_cmd: list[str] | None = None,
    assignment: str = "",
):
    """Grade every submission in ``source`` into ``out``; returns (records, outcomes), the
    outcomes ending with one of status "stale" per earlier result set aside (outputs.py).

    ``config``: a grading config for the grader (default grader/config.ini); ``secret``: the
    course secret's file (default grader/course_secret). By default each job slot is a
    long-lived grading process; ``command(file, results, note)`` instead grades each upload in
    a process of its own (tests' stand-ins; the bench), ``slot_cmd`` starts a stand-in slot.
    """
    out = Path(out)
    jobs = jobs or default_jobs()
    make_private_out(out)
    # mkdtemp: mode 0700, so no sandboxed worker can read another student's extracted upload.
    scratch = Path(tempfile.mkdtemp(prefix="grader-batch-"))

    def make_runner(number, stop):
        if command is not None:
            return ProcessRunner(command, stop)

        def args(submission, results, note):
            return grade_args(submission, results, note, config, secret)

        return SlotRunner(args, slot_cmd, scratch / f"slot-{number}.log", stop)

    try:
        submissions = load_export(Path(source), scratch / "export")
        stale = set_aside_stale(out, {s.id for s in submissions})
        previous = {s.id: load_results(out / "results" / f"{s.id}.json") for s in submissions}
        todo = [s for s in submissions if redo or not is_graded(previous[s.id])]
        todo.sort(key=lambda s: -previous_seconds(previous[s.id]))
        todo_ids = {s.id for s in todo}
        outcomes = [JobResult(s.id, "skipped") for s in submissions if s.id not in todo_ids]
        progress = Progress(len(submissions), len(outcomes), progress_stream)
        similar = similarity.start(submissions, jobs)  # compared while they are graded
        try:
            _grade_all(todo, out, jobs, timeout, scratch / "missing", make_runner, progress,
                       outcomes)  # fmt: skip
        except BaseException:
            similar.cancel()
            raise
        similar = similar.finish(out)  # reads the uploads: before they go
    finally:
        remove_tree(scratch)  # the extracted uploads: any tree a student's zip could hold
    records = _records(submissions, out)
    for record in records:
        record.stub = record.id in similar.stubs
    write_gradebooks(out, records, assignment or Path(source).stem)
    stats = class_stats(records, stale)
    title = f"Class regrade: {Path(source).name}"
    write_private(out / "report.html", render_report(stats, title, similar))
    # Results set aside (outputs.py) are reported as outcomes of their own, after the rest.
    return records, outcomes + [JobResult(i, "stale", 0.0, "moved to stale/") for i in stale]


def _records(submissions, out: Path) -> list[Record]:
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
    return records
