"""``python -m grader batch``: regrade a whole class export after the deadline.

    python -m grader batch SUBMISSIONS [--out OUT] [--jobs N] [--redo] [--timeout S]
        [--config PATH] [--secret FILE] [--allow-unconfined]

SUBMISSIONS is a Gradescope "Export Submissions" download (unzipped folder or the zip) or a
folder of ``.py`` files (grader/batch/export.py). Writes

* ``OUT/results/<id>.json``: each submission's Gradescope results.json;
* ``OUT/logs/<id>.txt``: what the grader printed for it (its feedback table);
* ``OUT/grades.csv``: one row per submission, for the gradebook;
* ``OUT/report.html``: where the class struggled (grader/batch/page.py);

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

The modules, in the order data flows: export.py and metadata.py (what to grade), jobs.py
(grading each), results.py (their results files), records.py (the class's figures),
gradebook.py (grades.csv), page.py (report.html), cli.py (the command line).
"""

from grader.batch.cli import main, unconfined_refusal
from grader.batch.jobs import grade_command, run_batch
from grader.batch.progress import JobResult, Progress

__all__ = [
    "JobResult",
    "Progress",
    "grade_command",
    "main",
    "run_batch",
    "unconfined_refusal",
]
