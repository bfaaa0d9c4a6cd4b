from __future__ import annotations

import pandas as pd
import typer
from typer.testing import CliRunner

from backend.analytics.config import reset_config
from backend.cli.detect_file_cmd import register
from tests.evaluation._nab import nab_dir


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # keep detect-file a named sub-command
    return app


def test_detect_file_nab_file_writes_scored_rows(tmp_path) -> None:
    source = nab_dir() / "data" / "realAWSCloudwatch" / "rds_cpu_utilization_e47b3b.csv"
    out = tmp_path / "scored.csv"
    result = CliRunner().invoke(_app(), ["detect-file", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    original = pd.read_csv(source)
    assert list(frame.columns) == [
        "timestamp",
        "value",
        "anomaly_score",
        "is_anomaly",
        "anomaly_label",
    ]
    assert frame["timestamp"].tolist() == original["timestamp"].tolist()
    assert frame["anomaly_score"].between(0, 1).all()
    assert set(frame["anomaly_label"]) <= {"spike", "trend", "seasonal", "normal"}
    assert (frame["is_anomaly"] == (frame["anomaly_label"] != "normal")).all()


def test_detect_file_unknown_engine_fails(tmp_path) -> None:
    source = nab_dir() / "data" / "realAWSCloudwatch" / "rds_cpu_utilization_e47b3b.csv"
    result = CliRunner().invoke(
        _app(), ["detect-file", str(source), "-o", str(tmp_path / "x.csv"), "--engine", "nope"]
    )
    assert result.exit_code != 0


def test_detect_file_uses_the_configured_engine_settings(tmp_path, monkeypatch) -> None:
    source = nab_dir() / "data" / "realAWSCloudwatch" / "rds_cpu_utilization_e47b3b.csv"
    reset_config()
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__ENGINE_CONFIG", '{"warmup_points": 4000}')
    out = tmp_path / "late.csv"
    result = CliRunner().invoke(_app(), ["detect-file", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out)["anomaly_score"]
    assert (scores.iloc[:4000] == 0).all() and len(scores) > 4000
