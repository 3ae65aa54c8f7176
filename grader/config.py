"""Load and validate ``grader/config.ini``: the course's choices over the lab's defaults.

Every key is optional and overrides a default declared once, in code: ``[limits]`` the
fields of :class:`grader.sandbox.limits.Limits`, ``[results]`` the Gradescope-wide
visibilities and whether feedback carries figures, and one ``[<check id>]`` section per
check to change its ``points`` or ``visibility`` from what the check registry declares
(grader/checks/registry.py). Unknown sections and keys are errors, so a typo never passes
silently.

The file is parsed with the stdlib's configparser (no extra dependency, comments allowed).
Every problem is reported at once, each naming its section and key, so an instructor can fix
the file in one go; the grader refuses to run on an invalid file rather than guess.
"""

import configparser
import math
from dataclasses import dataclass
from pathlib import Path

from grader import paths
from grader.checks import REGISTRY
from grader.checks.registry import VISIBILITIES
from grader.sandbox import limits as limits_module
from grader.sandbox.limits import Limits

RESULTS_DEFAULTS = {"visibility": "visible", "stdout_visibility": "hidden"}
FIGURES_DEFAULT = True  # [results] figures: pictures in the feedback (grader/figures.py)
BOOLEANS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


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
    checks: dict  # check id -> CheckSettings, in grading order
    visibility: str
    stdout_visibility: str
    figures: bool = FIGURES_DEFAULT

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
    known = {"limits", "results", *REGISTRY}
    for section in parser.sections():
        if section not in known:
            problems.append(
                f"[{section}] is not a known section (the checks are: {', '.join(REGISTRY)})"
            )

    def section_items(name, allowed):
        items = dict(parser.items(name)) if parser.has_section(name) else {}
        for key in items:
            if key not in allowed:
                problems.append(f"[{name}] {key}: unknown key (allowed: {', '.join(allowed)})")
        return items

    settings = limits_module.configurable()
    limit_items = section_items("limits", [f.metadata["key"] for f in settings])
    limit_values = {}
    for setting in settings:
        key = setting.metadata["key"]
        if key in limit_items:
            kind, minimum = type(setting.default), setting.metadata["minimum"]
            value = _number(limit_items[key], kind, minimum, f"[limits] {key}", problems)
            limit_values[setting.name] = value

    granted = Limits(**{name: v for name, v in limit_values.items() if v is not None})
    if granted.total_budget < granted.startup_timeout:  # the first import must fit the budget
        problems.append(
            f"[limits] total_budget_seconds ({granted.total_budget:g}) must be at least "
            f"startup_timeout_seconds ({granted.startup_timeout:g}): importing the submission "
            "comes out of the budget"
        )

    result_items = section_items("results", [*RESULTS_DEFAULTS, "figures"])
    top_vis = {
        key: _visibility(result_items.get(key, default), f"[results] {key}", problems)
        for key, default in RESULTS_DEFAULTS.items()
    }
    figures = FIGURES_DEFAULT
    if "figures" in result_items:
        figures = BOOLEANS.get(result_items["figures"].strip().lower())
        if figures is None:
            problems.append(f"[results] figures must be yes or no, got {result_items['figures']!r}")

    checks = {}
    for check_id, spec in REGISTRY.items():
        items = section_items(check_id, ["points", "visibility"])
        points = spec.points
        if "points" in items:
            points = _number(items["points"], float, 0.0, f"[{check_id}] points", problems)
        vis = _visibility(items.get("visibility", spec.visibility), f"[{check_id}] visibility",
                          problems)  # fmt: skip
        checks[check_id] = CheckSettings(points, vis)

    if not problems and sum(c.points for c in checks.values()) <= 0:
        problems.append("the checks' points add up to 0: give at least one check some points")
    if problems:
        raise ConfigError(
            f"grading config {path} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems)
        )
    return Config(
        path=path,
        limits=Limits(**limit_values),
        checks=checks,
        visibility=top_vis["visibility"],
        stdout_visibility=top_vis["stdout_visibility"],
        figures=bool(figures),
    )
