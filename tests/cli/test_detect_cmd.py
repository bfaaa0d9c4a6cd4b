"""``aboutcloud detect``: runs incremental detection over a real embedded database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from backend.analytics.config import reset_config
from backend.analytics.types import MetricSeries, SeriesKey
from backend.cli.detect_cmd import register
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.runner import load_fleet_calibration
from backend.storage import open_storage


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps Typer from collapsing the group
        """Nothing."""

    return app


def _seed(url: str) -> None:
    rng = np.random.default_rng(0)
    values = 30 + rng.normal(0, 1, 2000)
    values[1800:1803] += 40
    ts = 1_704_067_200 * 10**9 + np.arange(2000, dtype=np.int64) * 60 * 10**9
    with open_storage(url) as storage:
        storage.store_metrics(
            [MetricSeries.from_arrays(SeriesKey("acme", "c1", "n1", "cpu_usage"), ts, values)]
        )


def test_detect_command_json_reports_anomalies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    _seed(url)
    result = CliRunner().invoke(_app(), ["detect", "--database-url", url, "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["tenant_id"] == "acme"
    assert report["points_scored"] == 2000
    assert report["anomalies"] >= 1
    assert report["top_nodes"][0]["node_id"] == "n1"


def test_detect_command_empty_database_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(_app(), ["detect", "--database-url", url])
    assert result.exit_code == 0
    assert "Nothing stored yet" in result.output


def test_detect_command_keeps_a_fleet_calibration_unless_told_not_to(tmp_path: Path) -> None:
    for name, flags, kept in (("on.db", [], True), ("off.db", ["--no-fleet-calibration"], False)):
        url = f"sqlite:///{tmp_path / name}"
        _seed(url)
        result = CliRunner().invoke(_app(), ["detect", "--database-url", url, *flags])
        assert result.exit_code == 0, result.output
        with open_storage(url) as storage:
            found = load_fleet_calibration(storage, DefaultAnomalyEngine(), "acme")
        assert (found is not None) is kept


def _detect_with_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str
) -> tuple[str, dict[str, Any]]:
    """Seed a database, run ``detect --json`` with ``toml`` as ABOUTCLOUD_CONFIG: (url, report)."""
    url = f"sqlite:///{tmp_path / 'configured.db'}"
    _seed(url)
    reset_config()
    path = tmp_path / "detection.toml"
    path.write_text(toml)
    monkeypatch.setenv("ABOUTCLOUD_CONFIG", str(path))
    result = CliRunner().invoke(_app(), ["detect", "--database-url", url, "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    return url, report


def test_detect_command_runs_the_configured_engine_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no series may alarm before its 5,000th point
    toml = "[detection.engine_config]\nwarmup_points = 5000\n"
    _, report = _detect_with_config_file(tmp_path, monkeypatch, toml)
    assert (report["points_scored"], report["anomalies"]) == (2000, 0)


def test_detect_command_reports_a_configured_limit_during_warm_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the engine may not alarm, but a limit always may
    toml = (
        "[detection.engine_config]\nwarmup_points = 5000\n"
        "[detection.metric_limits.cpu_usage]\nabove = 60\n"
    )
    url, report = _detect_with_config_file(tmp_path, monkeypatch, toml)
    assert report["anomalies"] == 1
    with open_storage(url) as storage:
        (stored,) = storage.query_anomalies("acme", min_score=0.0)
    assert stored["window_start"].minute == 0 and stored["window_end"].minute == 2
    assert "beyond its limit (at most 60.0)" in stored["explanation"]


def _seed_young(url: str) -> None:
    """Besides ``_seed``'s node, a node that joined four hours ago (one-minute points)."""
    _seed(url)  # 33 hours of minutes: heard
    ts = 1_704_067_200 * 10**9 + np.arange(240, dtype=np.int64) * 60 * 10**9
    young = 30 + np.random.default_rng(1).normal(0, 1, 240)
    young[200] += 40  # a spike in its fourth hour: still learning, so no alarm
    with open_storage(url) as storage:
        key = SeriesKey("acme", "c1", "n2", "cpu_usage")
        storage.store_metrics([MetricSeries.from_arrays(key, ts, young)])


def test_detect_command_says_how_many_series_are_still_learning(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'young.db'}"
    _seed_young(url)
    result = CliRunner().invoke(_app(), ["detect", "--database-url", url, "--json"])
    (report,) = json.loads(result.output)
    assert report["series_learning"] == 1
    with open_storage(url) as storage:
        assert not [a for a in storage.query_anomalies("acme") if a["node_id"] == "n2"]
    url = f"sqlite:///{tmp_path / 'told.db'}"
    _seed_young(url)
    told = CliRunner().invoke(_app(), ["detect", "--database-url", url])
    said = " ".join(told.output.split())  # rich wraps long lines
    assert "acme: 1 young series are still in the detector's learning period" in said
