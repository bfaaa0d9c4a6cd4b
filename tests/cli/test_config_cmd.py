"""``aboutcloud config``: the effective detection configuration, its sources, the engine check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backend.cli.app import main


def test_config_shows_each_value_with_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "detection.toml"
    path.write_text(
        "[detection]\nanomaly_score_threshold = 0.55\n"
        "[detection.engine_config]\nwarmup_points = 300\n"
    )
    monkeypatch.setenv("ABOUTCLOUD_CONFIG", str(path))
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__CRITICAL_THRESHOLD", "0.9")
    assert main(["config", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["anomaly_score_threshold"] == 0.55
    assert shown["config"]["engine_config"] == {"warmup_points": 300}
    assert shown["sources"]["anomaly_score_threshold"] == f"file {path}"
    assert shown["sources"]["critical_threshold"] == "env ABOUTCLOUD_DETECTION__CRITICAL_THRESHOLD"
    assert shown["sources"]["stride_points"] == "default"
    assert shown["engine"] == "default"


def test_config_table_says_the_engine_accepts_its_settings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "anomaly_score_threshold" in out and "accepts its settings" in out


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("ENGINE_CONFIG", '{"log_scal": 8}', ("log_scal", "'log_scale'")),
        ("METRIC_LIMITS", '{"error_rate": {"abve": 5}}',
         ("metric_limits['error_rate'].abve", "'above'")),
    ],
)  # fmt: skip
def test_config_refuses_a_misspelt_setting_naming_it(
    variable: str,
    value: str,
    named: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(f"ABOUTCLOUD_DETECTION__{variable}", value)
    assert main(["config"]) == 1
    err = capsys.readouterr().err
    assert "ConfigError" in err and all(text in err for text in named)


def _shown_with_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], toml: str
) -> tuple[Path, dict[str, Any]]:
    """``aboutcloud config --json`` with ``toml`` as the ABOUTCLOUD_CONFIG file."""
    path = tmp_path / "detection.toml"
    path.write_text(toml)
    monkeypatch.setenv("ABOUTCLOUD_CONFIG", str(path))
    assert main(["config", "--json"]) == 0
    return path, json.loads(capsys.readouterr().out)


def test_config_credits_the_file_with_a_value_equal_to_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = "[detection]\nanomaly_score_threshold = 0.5\n"  # the default, pinned
    path, shown = _shown_with_file(tmp_path, monkeypatch, capsys, toml)
    assert shown["sources"]["anomaly_score_threshold"] == f"file {path}"
    assert shown["sources"]["critical_threshold"] == "default"


def test_config_shows_metric_limits_as_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = (
        "[detection.metric_limits.error_rate]\nabove = 5\nfor_points = 2\n"
        "keep_firing_seconds = 600\n"
    )
    path, shown = _shown_with_file(tmp_path, monkeypatch, capsys, toml)
    assert shown["config"]["metric_limits"] == {
        "error_rate": {
            "above": 5.0,
            "below": None,
            "for_points": 2,
            "for_seconds": 0.0,
            "severity": "critical",
            "keep_firing_seconds": 600.0,
        }
    }
    assert shown["sources"]["metric_limits"] == f"file {path}"


def test_config_shows_tenant_overrides_and_refuses_a_shared_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    overrides = {"acme": {"metric_limits": {"error_rate": {"above": 2}}}}
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__TENANTS", json.dumps(overrides))
    assert main(["config", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["tenants"] == overrides
    assert shown["sources"]["tenants"] == "env ABOUTCLOUD_DETECTION__TENANTS"
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__TENANTS", '{"acme": {"engine": "merlion"}}')
    assert main(["config"]) == 1
    assert "tenants['acme'].engine" in capsys.readouterr().err


def test_config_for_a_tenant_shows_its_effective_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = (
        "[detection]\nanomaly_score_threshold = 0.5\n"
        "[detection.tenants.acme]\nanomaly_score_threshold = 0.6\n"
    )
    path, _ = _shown_with_file(tmp_path, monkeypatch, capsys, toml)
    assert main(["config", "--json", "--tenant", "acme"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["anomaly_score_threshold"] == 0.6
    assert shown["sources"]["anomaly_score_threshold"] == f"file {path} (tenant acme)"
    assert shown["sources"]["critical_threshold"] == "default"
    assert shown["config"]["tenants"] == {"acme": {"anomaly_score_threshold": 0.6}}
    assert main(["config", "--json", "--tenant", "globex"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["anomaly_score_threshold"] == 0.5
