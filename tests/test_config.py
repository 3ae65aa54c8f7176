"""grader/config.ini is validated at start, with every problem listed."""

import subprocess
import sys

import pytest

from grader import config
from grader.paths import CONFIG_PATH, PROJECT_ROOT


def test_shipped_config_is_valid_and_worth_100():
    cfg = config.load()
    assert list(cfg.checks) == list(config.CHECK_IDS)
    assert cfg.max_score == 100
    assert cfg.checks["loads"].points == 0  # importing alone earns nothing


def _edited(tmp_path, old, new):
    text = CONFIG_PATH.read_text()
    assert old in text
    path = tmp_path / "config.ini"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "[estep_shape]\npoints = 10",
            "[estep_shape]\npoints = ten",
            "[estep_shape] points must be a number",
        ),
        (
            "[estep_pmf]\npoints = 10",
            "[estep_pmf]\npoints = -1",
            "[estep_pmf] points must be at least 0",
        ),
        (
            "[mstep_means]\npoints = 10\nvisibility = visible",
            "[mstep_means]\npoints = 10\nvisibility = secret",
            "[mstep_means] visibility must be one of",
        ),
        (
            "call_timeout_seconds = 10",
            "call_timeout_seconds = 0",
            "[limits] call_timeout_seconds must be at least",
        ),
        ("memory_mb = 512", "memory_mb = 5.5", "[limits] memory_mb must be an integer"),
        ("[em_monotone]", "[em_monotonic]", "[em_monotonic] is not a known section"),
        ("output_kb = 4", "output_kb = 4\nextra = 1", "[limits] extra: unknown key"),
    ],
)
def test_bad_values_are_named(tmp_path, old, new, message):
    with pytest.raises(config.ConfigError) as err:
        config.load(_edited(tmp_path, old, new))
    assert message in str(err.value)


def test_all_problems_are_reported_together(tmp_path):
    path = _edited(tmp_path, "points = 15\nvisibility = visible", "points = x\nvisibility = nobody")
    with pytest.raises(config.ConfigError) as err:
        config.load(path)
    assert "2 problem(s)" in str(err.value)


def test_missing_file_and_cli_exit_code(tmp_path):
    with pytest.raises(config.ConfigError, match="cannot read"):
        config.load(tmp_path / "nope.ini")
    bad = _edited(tmp_path, "[estep_shape]\npoints = 10", "[estep_shape]\npoints = ten")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "solution/gmm1d.py",
            "--results",
            str(tmp_path / "r.json"),
            "--config",
            str(bad),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "[estep_shape] points must be a number" in proc.stderr
    assert not (tmp_path / "r.json").exists()
