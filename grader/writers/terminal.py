"""The table ``make grade`` and the batch's logs print: one line per check, and under each
failing check its likely causes, each on a line of its own and never cut."""

import textwrap

from grader.diagnosis import MISTAKES
from grader.feedback import plain

STATUS = {True: "PASS", False: "FAIL"}


def _first_line(text, width) -> str:
    line = plain(text.strip().splitlines()[0]) if text.strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def format_table(result, width=110) -> str:
    """``result`` (grader.result.GradingResult) as text: one line per check (its config id),
    the likely causes of each failure, then the total."""
    lines = [f"{'#':>2}  {'check':<16} {'points':>7}  status  reason", "-" * width]
    indent = " " * 38
    for check in result.checks:
        points = f"{check.points:g}/{check.max_points:g}"
        lines.append(
            f"{check.number:>2}  {check.check_id:<16} {points:>7}  {STATUS[check.passed]:<6}  "
            f"{_first_line(check.feedback, width - 38)}"
        )
        for key in check.mistakes if not check.passed else ():
            cause = f"likely cause: {MISTAKES.get(key, key)}"
            lines += textwrap.wrap(cause, width, initial_indent=indent, subsequent_indent=indent)
    lines += [
        "-" * width,
        f"Total: {result.score:g}/{result.max_score:g}   ({result.execution_time:.2f} s)",
    ]
    return "\n".join(lines)
