"""``python -m grader batch``: regrade a whole class export after the deadline.

    python -m grader batch SUBMISSIONS [--out OUT] [--jobs N] [--redo] [--timeout S]
        [--config PATH] [--secret FILE] [--assignment NAME] [--allow-unconfined]

SUBMISSIONS is a Gradescope "Export Submissions" download (unzipped folder or the zip) or a
folder of ``.py`` files (grader/batch/export.py). Writes

* ``OUT/results/<id>.json``: each submission's Gradescope results.json;
* ``OUT/logs/<id>.txt``: what the grader printed for it (its feedback table);
* ``OUT/grades.csv``: one row per submission; ``OUT/canvas.csv``: one per submitter, for the
  LMS's gradebook import (gradebook.py);
* ``OUT/similarity.csv``: the pairs of uploads that share code (similarity.py);
* ``OUT/report.html``: the class and every student (page.py);
* ``OUT/stale/``: results of uploads no longer in the source, set aside (outputs.py);

and prints a summary. Rerunning skips submissions whose results file is already there and
valid (``--redo`` regrades them); the CSVs and the report are always rebuilt from every
submission's results file.

Isolation: each job slot is a long-lived grading process (slot.py, driven by slots.py) that
runs, for each upload, the code of ``python -m grader FILE --results PATH``, exactly the
command an instructor runs for one file, so the sandbox, limits and scoring are the
single-grade ones and each upload runs in its own confined worker; slot.py says what state
survives from one grading to the next and why none of it is the student's. N slots run at
once (threads only wait on them). Each starts in a new session so that a submission
signalling its process group reaches only its own slot, its output goes to files (a stray
grandchild holding a pipe open could otherwise hang the batch), and the per-upload wall
limit kills the whole group and its sandbox workers; the slot is then replaced. A slot that
dies is replaced and its upload retried once. An upload the grader failed on (a crash, a
time-out, no valid results file) gets a results file saying the grader failed on our side;
its CSV total is left empty (no grade, rather than a zero the student did not earn) and the
batch carries on. Results are written under a temporary name and renamed once validated, so
an interrupted batch never leaves a half-written file a rerun would trust.

The modules, in the order data flows: export.py and metadata.py (what to grade), outputs.py
(OUT), jobs.py with slots.py and slot.py (grading each), progress.py, results.py (their
results files), records.py and stats.py (the class's figures), similarity.py, gradebook.py
(the CSVs), page.py with page_charts.py and page_students.py (report.html), cli.py (the
command line).
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
