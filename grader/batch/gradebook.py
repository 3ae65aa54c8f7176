"""The gradebooks: ``OUT/grades.csv`` (one row per submission, every check's points) and
``OUT/canvas.csv`` (one row per submitter, in the layout Canvas's gradebook imports; Moodle's
grade import reads the same file, see docs/instructors.md). Both are safe to open in a
spreadsheet and readable by the instructor only.
"""

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from grader.batch.records import Record, check_order, format_number
from grader.batch.results import write_private

CSV_FIXED = ["submission_id", "names", "sids", "emails", "total"]


CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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
    write_private(path, buffer.getvalue())
    return checks


def canvas_rows(records: Sequence[Record], assignment: str) -> list[list[str]]:
    """Canvas's gradebook CSV: its five identity columns, then ``<assignment> (<points>)``.

    One row per submitter (a group upload gives each member its total); the Canvas ``ID`` is
    not in an export and is left empty (Canvas matches on SIS User ID, then SIS Login ID).
    A submission the grader failed on gets an empty grade, which the import leaves unchanged.
    A submission without metadata gets one row named after its id, with nothing to match.
    """
    points = max((r.max_total for r in records if r.total is not None), default=0.0)
    rows = [CANVAS_FIXED + [f"{assignment} ({format_number(points)})"]]
    for r in sorted(records, key=lambda r: r.id):
        grade = format_number(r.total)
        people = list(zip(r.names, r.sids, r.emails)) or [(f"submission {r.id}", "", "")]
        for name, sid, email in people:
            rows.append([_cell(name), "", _cell(sid), _cell(email), "", grade])
    return rows


def write_gradebooks(out: Path, records: Sequence[Record], assignment: str) -> None:
    """grades.csv and canvas.csv in ``out`` (mode 0600)."""
    write_grades_csv(out / "grades.csv", records)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(canvas_rows(records, assignment))
    write_private(out / "canvas.csv", buffer.getvalue())
