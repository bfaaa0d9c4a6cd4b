from __future__ import annotations

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from backend.analytics.config import DetectionConfig, reset_config
from backend.analytics.engine import EngineRegistry
from backend.cli.detect_file_cmd import file_rule, register, score_file
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


_E47B3B = ("realAWSCloudwatch", "rds_cpu_utilization_e47b3b.csv")


def _score(tmp_path, *args: str, file: tuple[str, str] = _E47B3B) -> pd.DataFrame:
    source = nab_dir() / "data" / file[0] / file[1]
    out = tmp_path / "scored.csv"
    result = CliRunner().invoke(
        _app(), ["detect-file", str(source), "-o", str(out), *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return pd.read_csv(out, keep_default_na=False)


def test_detect_file_uses_the_configured_threshold(tmp_path, monkeypatch) -> None:
    as_default = _score(tmp_path)
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__ANOMALY_SCORE_THRESHOLD", "0.95")
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__CRITICAL_THRESHOLD", "0.99")
    strict = _score(tmp_path)
    assert (strict["is_anomaly"] == (strict["anomaly_score"] >= 0.95)).all()
    assert 0 < strict["is_anomaly"].sum() < as_default["is_anomaly"].sum()
    loose = _score(tmp_path, "--threshold", "0.3")  # the option wins over the configuration
    assert (loose["is_anomaly"] == (loose["anomaly_score"] >= 0.3)).all()


def test_detect_file_applies_the_metric_limit(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(
        "ABOUTCLOUD_DETECTION__METRIC_LIMITS", '{"cpu_usage": {"above": 25, "for_points": 3}}'
    )
    unnamed = _score(tmp_path)
    named = _score(tmp_path, "--metric", "cpu_usage")
    runs = (named["value"] > 25).astype(int)
    third_in_a_row = runs.rolling(3).sum().eq(3)
    assert third_in_a_row.sum() > 3
    assert named.loc[third_in_a_row, "anomaly_score"].ge(0.8).all()
    assert named.loc[third_in_a_row, "is_anomaly"].all()
    assert (named.loc[third_in_a_row, "anomaly_label"] != "normal").all()
    # the file's stem names no limit, so unnamed scores are the engine's alone
    assert not unnamed.loc[third_in_a_row, "anomaly_score"].ge(0.8).all()
    assert (
        named.loc[~(named["value"] > 25), "anomaly_score"]
        == unnamed.loc[~(named["value"] > 25), "anomaly_score"]
    ).all()


def test_detect_file_applies_the_tenants_overrides(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(
        "ABOUTCLOUD_DETECTION__TENANTS",
        '{"acme": {"anomaly_score_threshold": 0.2, "metric_limits": {"cpu_usage": {"above": 25}}}}',
    )
    other = _score(tmp_path, "--metric", "cpu_usage")
    acme = _score(tmp_path, "--metric", "cpu_usage", "--tenant", "acme")
    assert (acme["is_anomaly"] == (acme["anomaly_score"] >= 0.2)).all()
    assert acme.loc[acme["value"] > 25, "anomaly_score"].ge(0.8).all()
    assert (other["is_anomaly"] == (other["anomaly_score"] >= 0.5)).all()
    assert acme["is_anomaly"].sum() > other["is_anomaly"].sum()


def test_detect_file_explains_each_anomalous_row(tmp_path) -> None:
    frame = _score(
        tmp_path, "--metric", "cpu_usage", "--node", "db-1", "--unit", "percent", "--explain"
    )
    assert list(frame.columns)[-1] == "explanation"
    anomalous = frame[frame["anomaly_label"] != "normal"]
    assert len(anomalous) > 0
    assert anomalous["explanation"].str.startswith("cpu_usage on db-1 ").all()
    assert anomalous["explanation"].str.contains(r"\d %", regex=True).all()
    assert (frame.loc[frame["anomaly_label"] == "normal", "explanation"] == "").all()


def test_file_rule_is_what_detect_would_use() -> None:
    config = DetectionConfig(
        metric_thresholds={"cpu*": 0.6},
        metric_limits={"error_rate": {"above": 5.0, "severity": "warning"}},
        tenants={"acme": {"metric_thresholds": {"cpu*": 0.7}}},
    )
    assert file_rule(config, "cpu_usage", calibrated=True).threshold == 0.6
    assert file_rule(config, "cpu_usage", calibrated=True, tenant="acme").threshold == 0.7
    assert file_rule(config, "cpu_usage", calibrated=True, threshold=0.3).threshold == 0.3
    warning = file_rule(config, "error_rate", calibrated=True)
    assert warning.limit is not None and warning.limit.above == 5.0
    assert warning.breach_score == warning.threshold == 0.5
    assert file_rule(config, "cpu_usage", calibrated=True).limit is None


def _consistent(frame: pd.DataFrame, threshold: float) -> None:
    """A windowed engine's rows: scores per row, labels and texts from the windows' verdicts
    (a row can score above the threshold in a window its engine judges normal)."""
    assert frame["anomaly_score"].between(0, 1).all()
    assert (frame["is_anomaly"] == (frame["anomaly_score"] >= threshold)).all()
    flagged = frame["anomaly_label"] != "normal"
    assert frame["is_anomaly"].any() and flagged.any()
    assert (frame.loc[flagged, "explanation"] != "").all()
    assert (frame.loc[~flagged, "explanation"] == "").all()


def test_detect_file_runs_the_multivariate_engine(tmp_path) -> None:
    frame = _score(
        tmp_path, "--engine", "multivariate", "--metric", "cpu_usage", "--explain",
        file=("realAWSCloudwatch", "ec2_cpu_utilization_24ae8d.csv"),
    )  # fmt: skip
    _consistent(frame, 0.55)  # cpu's family margin: the engine is not calibrated per series


@pytest.mark.merlion
def test_detect_file_runs_the_merlion_engine(tmp_path) -> None:
    frame = _score(tmp_path, "--engine", "merlion", "--explain", "--threshold", "0.5")
    _consistent(frame, 0.5)


@pytest.mark.parametrize(
    "engine", ["default", "multivariate", pytest.param("merlion", marks=pytest.mark.merlion)]
)
def test_score_file_works_on_every_nab_file(engine: str) -> None:
    detector = EngineRegistry.get(engine)
    files = sorted((nab_dir() / "data").rglob("*.csv"))
    assert len(files) == 17
    for path in files:
        frame = score_file(detector, path, explain=True)
        original = pd.read_csv(path)
        assert frame["timestamp"].tolist() == original["timestamp"].tolist(), path.name
        assert frame["anomaly_score"].between(0, 1).all(), path.name
        assert set(frame["anomaly_label"]) <= {"spike", "trend", "seasonal", "normal"}
        labelled = frame["anomaly_label"] != "normal"
        assert (frame.loc[labelled, "explanation"] != "").all(), path.name


_BAND = ["expected", "usual_lower", "usual_upper"]


def _banded(tmp_path, *args: str) -> pd.DataFrame:
    frame = _score(tmp_path, *args, "--band")
    numbers = {c: pd.to_numeric(frame[c], errors="coerce") for c in _BAND}
    for column, parsed in numbers.items():  # a cell is a number or empty (no forecast yet)
        assert set(frame.loc[parsed.isna(), column].astype(str)) <= {""}
    return frame.assign(**numbers)


def test_detect_file_band_gives_the_forecast_and_usual_range(tmp_path) -> None:
    frame = _banded(tmp_path)
    assert list(frame.columns)[-3:] == _BAND
    drawn = frame[frame["usual_lower"].notna()]
    assert len(drawn) > 0.9 * len(frame)
    inside = drawn["value"].between(drawn["usual_lower"], drawn["usual_upper"])
    assert inside.mean() > 0.95
    assert (drawn["usual_lower"] <= drawn["expected"]).mean() > 0.99


def test_detect_file_band_is_empty_for_an_engine_without_a_forecast(tmp_path) -> None:
    frame = _banded(tmp_path, "--engine", "multivariate")
    assert frame[_BAND].isna().all().all()


def _minute_file(path, rows: int) -> None:
    stamps = pd.date_range("2024-03-01", periods=rows, freq="1min")
    values = 50 + pd.Series(range(rows)).mod(7) * 0.3
    pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "value": values}).to_csv(
        path, index=False
    )


@pytest.mark.parametrize(("rows", "told"), [
    (300, "Every row is in the engine's warm-up and learning period"),
    (1000, "The first 750 rows are the engine's warm-up and learning period"),
])  # fmt: skip
def test_detect_file_says_which_rows_the_engine_was_still_learning(
    tmp_path, rows: int, told: str
) -> None:
    source, out = tmp_path / "minutes.csv", tmp_path / "scored.csv"
    _minute_file(source, rows)
    result = CliRunner().invoke(_app(), ["detect-file", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # rich wraps long lines
    assert told in said
    scores = pd.read_csv(out)["anomaly_score"]
    assert (scores[: min(rows, 750)] == 0).all()  # 12 h of minutes + the 30-row probe
    if rows < 750:
        assert "it may alarm from row 751" in said


def test_detect_file_nab_file_learns_for_its_warm_up_rows_only(tmp_path) -> None:
    source = nab_dir() / "data" / "realAWSCloudwatch" / "rds_cpu_utilization_e47b3b.csv"
    out = tmp_path / "scored.csv"
    result = CliRunner().invoke(_app(), ["detect-file", str(source), "-o", str(out)])
    said = " ".join(result.output.split())
    assert "The first 180 rows are the engine's warm-up and learning period" in said
