"""``OUT/grades.csv``: one row per submission for the gradebook, safe to open in a
spreadsheet, readable by the instructor only.
"""

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from grader.batch.records import Record, check_order, format_number
from grader.batch.results import write_private

CSV_FIXED = ["submission_id", "names", "sids", "emails", "total"]


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
