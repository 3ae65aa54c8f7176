"""The checks as tables, read from the registry and the config: for the handout
(Markdown, ``make handout``) and for instructors (``python -m grader checks``)."""

from grader.checks.registry import REGISTRY, number


def _points(value) -> str:
    return f"{value:g}"


def _condition(spec) -> str:
    if spec.gate:
        return " (if this fails, no other check runs: keep the constructor working)"
    if spec.requires:
        others = " or ".join(str(number(other)) for other in spec.requires)
        return f" (counts once check {others} passes or fails only by a named mistake)"
    return ""


def markdown(cfg) -> str:
    """The handout's grading table: every check with its points, then the total."""
    lines = ["| # | check | points | what it tests |", "| --- | --- | --- | --- |"]
    for check_id, spec in REGISTRY.items():
        settings = cfg.checks[check_id]
        lines.append(
            f"| {number(check_id)} | {spec.title} | {_points(settings.points)} | "
            f"{spec.proves}{_condition(spec)} |"
        )
    lines.append(f"| | **total** | **{_points(cfg.max_score)}** | |")
    return "\n".join(lines)


def text(cfg) -> str:
    """``python -m grader checks``: id, points and visibility as graded now, and the title."""
    rows = [("#", "id", "points", "visibility", "title")]
    for check_id, spec in REGISTRY.items():
        settings = cfg.checks[check_id]
        rows.append((str(number(check_id)), check_id, _points(settings.points),
                     settings.visibility, spec.title + _condition(spec)))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4]
             for row in rows]  # fmt: skip
    lines.append(f"total {_points(cfg.max_score)} points; config: {cfg.path}")
    return "\n".join(lines)
