"""grader/config.ini: the course's overrides of the registry's and Limits' defaults, validated
at start with every problem listed."""

import dataclasses
import subprocess
import sys

import pytest

from grader import checks, config
from grader.paths import CONFIG_PATH, PROJECT_ROOT
from grader.sandbox.limits import Limits, configurable


def test_shipped_config_is_valid_and_grades_as_the_registry_says():
    cfg = config.load()
    assert list(cfg.checks) == checks.ids()
    for check_id, spec in checks.REGISTRY.items():
        assert (cfg.checks[check_id].points, cfg.checks[check_id].visibility) == (
            spec.points,
            spec.visibility,
        )
    assert cfg.max_score == 100
    assert cfg.checks["loads"].points == 0  # importing alone earns nothing
    # The shipped file shows the instructor every limit, at the value the code defaults to.
    text = CONFIG_PATH.read_text()
    assert cfg.limits == Limits()
    for setting in configurable():
        assert f"\n{setting.metadata['key']} = " in text, setting.name


def _config(tmp_path, extra):
    path = tmp_path / "config.ini"
    path.write_text(CONFIG_PATH.read_text() + "\n" + extra)
    return path


def test_a_check_section_overrides_points_and_visibility(tmp_path):
    cfg = config.load(_config(tmp_path, "[estep_values]\npoints = 20\nvisibility = hidden\n"))
    assert cfg.checks["estep_values"] == config.CheckSettings(20.0, "hidden")
    assert cfg.max_score == 105
    assert cfg.checks["estep_shape"].points == checks.REGISTRY["estep_shape"].points


def test_every_key_is_optional(tmp_path):
    path = tmp_path / "empty.ini"
    path.write_text("; nothing: every default\n")
    cfg = config.load(path)
    assert cfg.limits == Limits() and cfg.visibility == "visible"
    assert cfg.stdout_visibility == "hidden" and cfg.max_score == 100
    partial = tmp_path / "partial.ini"
    partial.write_text("[limits]\nmemory_mb = 300\n")
    assert config.load(partial).limits == dataclasses.replace(Limits(), memory_mb=300)


@pytest.mark.parametrize(
    "extra, message",
    [
        ("[estep_shape]\npoints = ten", "[estep_shape] points must be a number"),
        ("[estep_pmf]\npoints = -1", "[estep_pmf] points must be at least 0"),
        ("[mstep_means]\nvisibility = secret", "[mstep_means] visibility must be one of"),
        ("[em_monotonic]\npoints = 3", "[em_monotonic] is not a known section"),
        ("[loads]\nweight = 3", "[loads] weight: unknown key"),
    ],
)
def test_bad_check_settings_are_named(tmp_path, extra, message):
    with pytest.raises(config.ConfigError) as err:
        config.load(_config(tmp_path, extra))
    assert message in str(err.value)


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("call_timeout_seconds = 10", "call_timeout_seconds = 0", "[limits] call_timeout_seconds"),
        ("memory_mb = 512", "memory_mb = 5.5", "[limits] memory_mb must be an integer"),
        ("output_kb = 4", "output_kb = 4\nextra = 1", "[limits] extra: unknown key"),
        ("visibility = visible", "visibility = everyone", "[results] visibility must be one of"),
        ("figures = yes", "figures = maybe", "[results] figures must be yes or no, got 'maybe'"),
        (
            "total_budget_seconds = 120",
            "total_budget_seconds = 5",
            "total_budget_seconds (5) must be at least startup_timeout_seconds (20)",
        ),
    ],
)
def test_bad_limits_and_results_are_named(tmp_path, old, new, message):
    path = tmp_path / "config.ini"
    path.write_text(CONFIG_PATH.read_text().replace(old, new, 1))
    with pytest.raises(config.ConfigError) as err:
        config.load(path)
    assert message in str(err.value)


@pytest.mark.parametrize("value, figures", [("yes", True), ("No", False), ("off", False)])
def test_figures_can_be_turned_off(tmp_path, value, figures):
    assert config.load().figures is True  # the shipped config draws them
    path = tmp_path / "config.ini"
    path.write_text(CONFIG_PATH.read_text().replace("figures = yes", f"figures = {value}", 1))
    assert config.load(path).figures is figures


def test_all_problems_are_reported_together(tmp_path):
    path = _config(tmp_path, "[estep_values]\npoints = x\nvisibility = nobody\n")
    with pytest.raises(config.ConfigError) as err:
        config.load(path)
    assert "2 problem(s)" in str(err.value)


def test_points_adding_up_to_zero_are_refused(tmp_path):
    sections = "".join(f"[{check_id}]\npoints = 0\n" for check_id in checks.ids())
    with pytest.raises(config.ConfigError, match="add up to 0"):
        config.load(_config(tmp_path, sections))


def test_missing_file_and_cli_exit_code(tmp_path):
    with pytest.raises(config.ConfigError, match="cannot read"):
        config.load(tmp_path / "nope.ini")
    bad = _config(tmp_path, "[estep_shape]\npoints = ten\n")
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "solution/gmm1d.py", "--results",
         str(tmp_path / "r.json"), "--config", str(bad)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "[estep_shape] points must be a number" in proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_the_checks_command_lists_the_registry_with_the_configs_settings(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "checks", "--config",
         str(_config(tmp_path, "[estep_pure]\npoints = 7\n"))],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(checks.ids()) + 2  # header, one per check, total
    for check_id in checks.ids():
        assert any(line.split()[1:2] == [check_id] for line in lines), check_id
    assert next(line for line in lines if " estep_pure " in line).split()[2] == "7"
    assert lines[-1].startswith("total 102 points")
