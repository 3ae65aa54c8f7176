"""``make try-prairielearn SUBMISSION=... RESULTS=...``: grade one upload as PrairieLearn would.

Lays out a ``/grade``-shaped tree in a temporary folder (``serverFilesCourse/gmm1d`` copied
from the built ``dist/prairielearn``, an empty ``tests/``, ``data/data.json`` holding the
submission the way PrairieLearn's file elements store it, and the upload in ``student/``
under its own name), runs the question's entrypoint there with ``GMM1D_GRADE_ROOT`` pointing
at it, and copies its ``results/results.json`` to RESULTS. The interpreter is this one (the
project's virtualenv) unless ``GMM1D_PYTHON`` names another, e.g. one set up like the image's.

Standard library only; never shipped (it is not under grader/).
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist" / "prairielearn"
QUESTION = "gmm1d"


def lay_out(grade: Path, submission: Path | None, dist: Path = DIST) -> Path:
    """Fill ``grade`` like PrairieLearn's job folder; returns the entrypoint's path."""
    server = dist / "serverFilesCourse" / QUESTION
    if not (server / "entrypoint").is_file():
        raise SystemExit(f"{server}/entrypoint is missing: run make prairielearn first")
    shutil.copytree(server, grade / "serverFilesCourse" / QUESTION)
    for name in ("student", "tests", "data"):
        (grade / name).mkdir()
    files = []
    if submission is not None and submission.is_file():
        data = submission.read_bytes()
        (grade / "student" / submission.name).write_bytes(data)
        files.append({"name": submission.name, "contents": base64.b64encode(data).decode()})
    data_json = {
        "params": {},
        "correct_answers": {},
        "submitted_answers": {"_files": files},
        "format_errors": {},
        "partial_scores": {},
        "score": 0,
        "feedback": {},
        "variant_seed": 1,
        "options": {},
        "raw_submitted_answers": {},
        "editable": False,
        "panel": "question",
        "extensions": {},
        "num_valid_submissions": 0,
    }
    (grade / "data" / "data.json").write_text(json.dumps(data_json, indent=2))
    entrypoint = grade / "serverFilesCourse" / QUESTION / "entrypoint"
    entrypoint.chmod(0o700)  # what PrairieLearn's grader host does (chmod +x) before running it
    return entrypoint


def run(submission: Path | None, results: Path, dist: Path = DIST, python=None, env=None):
    """Grade ``submission`` in a fresh /grade tree; copies results.json to ``results`` and
    returns (the entrypoint's exit status, its log)."""
    with tempfile.TemporaryDirectory(prefix="gmm1d-pl-grade-") as scratch:
        grade = Path(scratch) / "grade"
        grade.mkdir()
        entrypoint = lay_out(grade, submission, dist)
        environment = {
            **os.environ,
            "GMM1D_GRADE_ROOT": str(grade),
            "GMM1D_PYTHON": python or os.environ.get("GMM1D_PYTHON") or sys.executable,
            **(env or {}),
        }
        proc = subprocess.run(
            [str(entrypoint)],
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )
        results.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(grade / "results" / "results.json", results)
    return proc.returncode, proc.stdout + proc.stderr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("submission", type=Path, help="gmm1d.py or a notebook (or missing)")
    parser.add_argument("--results", type=Path, required=True, help="where to copy results.json")
    parser.add_argument("--dist", type=Path, default=DIST, help="the built question folder")
    args = parser.parse_args(argv)
    submission = args.submission if args.submission.exists() else None
    status, log = run(submission, args.results, args.dist)
    print(log, end="")
    data = json.loads(args.results.read_text(encoding="utf-8"))
    for test in data.get("tests", []):
        print(f"  {test.get('points', 0):>5g}/{test.get('max_points', 0):<4g} {test.get('name')}")
    shown = f"score {data['score']:g}" if "score" in data else "no score"
    print(f"gradable: {data.get('gradable')}, {shown}; results copied to {args.results}")
    return status


if __name__ == "__main__":
    sys.exit(main())
