"""Grading the submissions of a batch, each in its own ``python -m grader`` subprocess,
``--jobs`` at a time, with a progress bar; see grader/batch/__init__.py for the isolation.
"""

import functools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from grader import paths
from grader.batch.export import ExportError, Submission, load_export
from grader.batch.gradebook import write_grades_csv
from grader.batch.page import render_report
from grader.batch.records import Record, class_stats, format_number, grader_problem
from grader.batch.results import (
    LOG_TAIL_CHARS,
    failure_results,
    is_graded,
    load_results,
    previous_seconds,
    write_failure,
    write_private,
)
from grader.sandbox.cleanup import kill_workers_of, remove_tree

DEFAULT_TIMEOUT = 600.0  # per submission; the grader's own budget is far lower (grader/config.ini)


def grade_command(
    submission: Path,
    results: Path,
    note: str = "",
    config: Path | None = None,
    secret: Path | None = None,
) -> list[str]:
    """The single-grade command line (``make grade`` runs the same), plus the note saying
    which file of the upload was graded, as the Gradescope flow gives it."""
    cmd = [sys.executable, "-m", "grader", str(submission), "--results", str(results)]
    if not Path(submission).is_file():  # nothing gradable: graded as Gradescope grades it
        cmd.append("--nothing-uploaded")
    if note:
        cmd.append(f"--note={note}")  # one argument, even if the text starts with "-"
    if config is not None:
        cmd.append(f"--config={config}")
    if secret is not None:
        cmd.append(f"--secret={secret}")  # a path: the secret itself is never on a command line
    return cmd


@dataclass
class JobResult:
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
) -> JobResult:
    """Grade ``sub`` in its own subprocess; always leaves ``out/results/<id>.json``.

    Whatever goes wrong (a grader that cannot start, a file the submission's code locked,
    a bug of ours), it is this submission's failure only: recorded, never raised."""
    try:
        return _grade_one(sub, out, timeout, missing_dir, command)
    except Exception as exc:  # noqa: BLE001 - one submission's failure must not end the batch
        reason = f"the batch could not grade it ({type(exc).__name__}: {exc})"
        detail = traceback.format_exc()[-LOG_TAIL_CHARS:]
        try:
            write_failure(out / "results" / f"{sub.id}.json", reason, 0.0, detail)
        except OSError as write_error:
            reason += f"; no results file could be written ({write_error})"
        return JobResult(sub.id, "failed", 0.0, reason)


def _grade_one(sub, out, timeout, missing_dir, command) -> JobResult:
    results_dir, logs_dir = out / "results", out / "logs"
    target = results_dir / f"{sub.id}.json"
    partial = results_dir / f".{sub.id}.partial.json"
    log = logs_dir / f"{sub.id}.txt"
    partial.unlink(missing_ok=True)
    # Nothing gradable: hand the grader a path that certainly does not exist (never a stray link
    # left in the folder) and --nothing-uploaded (grade_command), so it reports the missing file
    # exactly as the Gradescope flow would.
    submission = (
        sub.path if sub.path is not None else missing_dir / sub.id / paths.SUBMISSION_FILENAME
    )
    start = time.monotonic()
    reason = ""
    # 0600, like every output of the batch: the log holds the student's feedback.
    with os.fdopen(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as log_file:
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
        os.chmod(partial, 0o600)  # the grader writes results.json 0644, as for Gradescope
        os.replace(partial, target)  # kept as the grader wrote it, even when it is not a grade
        problem = grader_problem(results)
        return JobResult(sub.id, "failed" if problem else "graded", seconds, problem)
    if not reason:
        reason = (
            f"the grader exited with code {returncode}"
            if returncode
            else "the grader wrote no valid results file"
        )
    partial.unlink(missing_ok=True)
    write_failure(target, reason, seconds, _tail(log))
    return JobResult(sub.id, "failed", seconds, reason)


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

    def update(self, outcome: JobResult):
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


def default_jobs() -> int:
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
    secret: Path | None = None,
    command: Callable[..., list[str]] | None = None,
    progress_stream=None,
):
    """Grade every submission in ``source`` into ``out``; returns (records, outcomes).

    ``config``: a grading config for the grader (default grader/config.ini); ``secret``: the
    course secret's file (default grader/course_secret). ``command(file, results, note)``
    builds the per-submission command line; tests substitute a stand-in.
    """
    if command is None:
        command = functools.partial(grade_command, config=config, secret=secret)
    out = Path(out)
    jobs = jobs or default_jobs()
    make_private_out(out)
    # mkdtemp: mode 0700, so no sandboxed worker can read another student's extracted upload.
    scratch = Path(tempfile.mkdtemp(prefix="grader-batch-"))
    try:
        submissions = load_export(Path(source), scratch / "export")
        missing_dir = scratch / "missing"
        previous = {s.id: load_results(out / "results" / f"{s.id}.json") for s in submissions}
        todo = [s for s in submissions if redo or not is_graded(previous[s.id])]
        todo.sort(key=lambda s: -previous_seconds(previous[s.id]))
        todo_ids = {s.id for s in todo}
        outcomes = [JobResult(s.id, "skipped") for s in submissions if s.id not in todo_ids]
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
    write_private(out / "report.html", render_report(stats, f"Class regrade: {Path(source).name}"))
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
