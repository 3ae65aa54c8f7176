"""Load and validate ``grader/config.ini``: check weights, visibility and time limits.

The file is parsed with the stdlib's configparser (no extra dependency, comments allowed).
Every problem is reported at once, each naming its section and key, so an instructor can fix
the file in one go; the grader refuses to run on an invalid file rather than guess.
"""

import configparser
import math
from dataclasses import dataclass
from pathlib import Path

from grader import paths
from grader.sandbox import limits
from grader.sandbox.limits import Limits

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

# Check ids in the order they run and are numbered. Each needs a section in the config.
CHECK_IDS = (
    "loads",
    "estep_shape",
    "estep_pmf",
    "estep_example",
    "estep_values",
    "estep_pure",
    "mstep_priors",
    "mstep_means",
    "mstep_variances",
    "mstep_inputs",
    "em_monotone",
)


class ConfigError(Exception):
    """The configuration file is unusable; the message lists every problem."""


@dataclass(frozen=True)
class CheckSettings:
    points: float
    visibility: str


@dataclass(frozen=True)
class Config:
    path: Path
    limits: Limits
    checks: dict  # check id -> CheckSettings, in CHECK_IDS order
    visibility: str
    stdout_visibility: str

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks.values())


def _number(raw, kind, minimum, where, problems):
    try:
        value = kind(raw)
    except ValueError:
        problems.append(
            f"{where} must be {'an integer' if kind is int else 'a number'}, got {raw!r}"
        )
        return None
    if not math.isfinite(value) or value < minimum:
        problems.append(f"{where} must be at least {minimum}, got {raw!r}")
        return None
    return value


def _visibility(raw, where, problems):
    if raw not in VISIBILITIES:
        problems.append(f"{where} must be one of {', '.join(VISIBILITIES)}; got {raw!r}")
    return raw


def load(path=None) -> Config:
    """Read and validate the config at ``path`` (default ``grader/config.ini``)."""
    path = Path(path) if path is not None else paths.CONFIG_PATH
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read grading config {path}: {exc.strerror}") from None
    except configparser.Error as exc:
        raise ConfigError(f"grading config {path} is not valid INI: {exc}") from None

    problems = []
    known_sections = {"limits", "results", *CHECK_IDS}
    for section in parser.sections():
        if section not in known_sections:
            problems.append(
                f"[{section}] is not a known section (checks are: {', '.join(CHECK_IDS)})"
            )

    def section_items(name, allowed):
        if not parser.has_section(name):
            problems.append(f"[{name}] is missing")
            return {}
        items = dict(parser.items(name))
        for key in items:
            if key not in allowed:
                problems.append(f"[{name}] {key}: unknown key (allowed: {', '.join(allowed)})")
        for key in allowed:
            if key not in items:
                problems.append(f"[{name}] {key} is missing")
        return items

    settings = limits.configurable()
    limit_items = section_items("limits", tuple(f.metadata["key"] for f in settings))
    limit_values = {}
    for setting in settings:
        key = setting.metadata["key"]
        if key in limit_items:
            kind, minimum = type(setting.default), setting.metadata["minimum"]
            value = _number(limit_items[key], kind, minimum, f"[limits] {key}", problems)
            limit_values[setting.name] = value

    result_items = section_items("results", ("visibility", "stdout_visibility"))
    top_vis = {
        key: _visibility(result_items[key], f"[results] {key}", problems)
        for key in ("visibility", "stdout_visibility")
        if key in result_items
    }

    checks = {}
    for check_id in CHECK_IDS:
        items = section_items(check_id, ("points", "visibility"))
        points = (
            _number(items["points"], float, 0.0, f"[{check_id}] points", problems)
            if "points" in items
            else None
        )
        vis = (
            _visibility(items["visibility"], f"[{check_id}] visibility", problems)
            if "visibility" in items
            else None
        )
        checks[check_id] = CheckSettings(points, vis)

    if not problems and sum(c.points for c in checks.values()) <= 0:
        problems.append("the checks' points add up to 0: give at least one check some points")
    if problems:
        raise ConfigError(
            f"grading config {path} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems)
        )
    return Config(
        path=path,
        limits=limits.Limits(**limit_values),
        checks=checks,
        visibility=top_vis["visibility"],
        stdout_visibility=top_vis["stdout_visibility"],
    )
