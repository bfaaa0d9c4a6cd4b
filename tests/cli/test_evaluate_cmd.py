from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from backend.analytics.config import reset_config
from backend.cli.evaluate_cmd import register
from backend.errors import ConfigError
from tests.evaluation._nab import nab_dir

NAME = "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv"


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    return app


def _tiny_corpus(tmp_path):
    root = tmp_path / "nab"
    (root / "data" / "realAWSCloudwatch").mkdir(parents=True)
    (root / "labels").mkdir()
    shutil.copy(nab_dir() / "data" / NAME, root / "data" / NAME)
    windows = json.loads((nab_dir() / "labels" / "combined_windows.json").read_text())
    (root / "labels" / "combined_windows.json").write_text(json.dumps({NAME: windows[NAME]}))
    return root


def test_evaluate_tiny_corpus_writes_json_and_plot(tmp_path) -> None:
    root = _tiny_corpus(tmp_path)
    out, plots = tmp_path / "out.json", tmp_path / "plots"
    result = CliRunner().invoke(
        _app(), ["evaluate", str(root), "--json", str(out), "--plot", str(plots)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(report["nab"]["optimised"]) == {
        "standard",
        "reward_low_FP_rate",
        "reward_low_FN_rate",
    }
    assert report["nab"]["windows"] == 2
    assert len(list(plots.glob("*.png"))) == 1
    assert "standard" in result.output


@pytest.mark.parametrize(
    "engine", ["multivariate", pytest.param("merlion", marks=pytest.mark.merlion)]
)
def test_evaluate_plots_an_engine_without_a_band(tmp_path, engine: str) -> None:
    root = _tiny_corpus(tmp_path)
    plots = tmp_path / "plots"
    result = CliRunner().invoke(
        _app(), ["evaluate", str(root), "--engine", engine, "--plot", str(plots)]
    )
    assert result.exit_code == 0, result.output
    [plot] = plots.glob("*.png")
    assert plot.stat().st_size > 0


def test_evaluate_per_file_prints_each_file(tmp_path) -> None:
    root = _tiny_corpus(tmp_path)
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        _app(), ["evaluate", str(root), "--per-file", "--json", str(out)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "NAB per file" in result.output and "rds_cpu_utilization_cc0c53" in result.output
    (row,) = json.loads(out.read_text())["nab"]["per_file"]
    standard = json.loads(out.read_text())["nab"]["optimised"]["standard"]
    assert row["name"] == NAME and row["windows"] == 2
    assert row["raw"] == pytest.approx(standard["raw"], abs=1e-9)
    assert row["true_positives"] == standard["true_positives"]
    without = CliRunner().invoke(_app(), ["evaluate", str(root)], env={"COLUMNS": "200"})
    assert "NAB per file" not in without.output


def test_evaluate_simulated_small_fleet(tmp_path) -> None:
    out = tmp_path / "fleet.json"
    result = CliRunner().invoke(_app(), ["evaluate", "--simulated", "12", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["fleet"]["series"] == 12
    assert json.loads(out.read_text())["fleet"]["fleet_calibration"] is True


def test_evaluate_simulated_fleet_without_fleet_calibration(tmp_path) -> None:
    out = tmp_path / "fleet.json"
    args = ["evaluate", "--simulated", "12", "--no-fleet-calibration", "--json", str(out)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["fleet"]["fleet_calibration"] is False


def test_evaluate_simulated_fleet_length_options(tmp_path) -> None:
    out = tmp_path / "fleet.json"
    args = ["evaluate", "--simulated", "6", "--fleet-points", "600", "--fleet-freq", "1min"]
    result = CliRunner().invoke(_app(), [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    fleet = json.loads(out.read_text())["fleet"]
    assert fleet["series"] == 6
    # missing-data anomalies remove points, so a series may hold fewer than 600
    assert 0.9 * 6 * 600 <= fleet["points"] <= 6 * 600


def test_evaluate_simulated_fleet_live_in_runs(tmp_path) -> None:
    out = tmp_path / "fleet.json"
    args = ["evaluate", "--simulated", "8", "--fleet-points", "600", "--fleet-freq", "1min"]
    result = CliRunner().invoke(_app(), [*args, "--live-points", "30", "--json", str(out)])
    assert result.exit_code == 0, result.output
    fleet = json.loads(out.read_text())["fleet"]
    assert fleet["series"] == 8 and fleet["live_points"] == 30
    assert 0.9 * 8 * 600 <= fleet["points"] <= 8 * 600


def test_evaluate_live_points_needs_a_fleet_and_no_sweep(tmp_path) -> None:
    root = _tiny_corpus(tmp_path)
    no_fleet = CliRunner().invoke(_app(), ["evaluate", str(root), "--live-points", "5"])
    assert no_fleet.exit_code != 0 and "--simulated" in str(no_fleet.exception)
    args = ["evaluate", "--simulated", "4", "--sweep", "0.4", "--live-points", "5"]
    swept = CliRunner().invoke(_app(), args)
    assert swept.exit_code != 0 and "--live-points" in str(swept.exception)


def test_evaluate_without_inputs_fails() -> None:
    result = CliRunner().invoke(_app(), ["evaluate"])
    assert result.exit_code != 0


def test_evaluate_simulated_fleet_sweep_writes_rows_and_plot(tmp_path) -> None:
    out, plots = tmp_path / "fleet.json", tmp_path / "plots"
    args = ["evaluate", "--simulated", "12", "--sweep", "0.4, 0.6", "--plot", str(plots)]
    result = CliRunner().invoke(_app(), [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    rows = report["fleet_sweep"]
    assert [row["threshold"] for row in rows] == [0.4, 0.5, 0.6]  # the engine's own added
    assert rows[1]["false_alarms"] == report["fleet"]["false_alarms"]
    assert (plots / "fleet_tradeoff.png").stat().st_size > 0
    assert "Threshold sweep" in result.output


def test_evaluate_sweep_needs_a_fleet_and_numbers(tmp_path) -> None:
    root = _tiny_corpus(tmp_path)
    no_fleet = CliRunner().invoke(_app(), ["evaluate", str(root), "--sweep", "0.4"])
    assert no_fleet.exit_code != 0 and "--simulated" in str(no_fleet.exception)
    for bad in ("0.4,high", "0.4,1.5", ","):
        result = CliRunner().invoke(_app(), ["evaluate", "--simulated", "4", "--sweep", bad])
        assert result.exit_code != 0 and "--sweep" in str(result.exception)


def test_evaluate_several_seeds_pools_the_fleets(tmp_path) -> None:
    out = tmp_path / "fleets.json"
    args = ["evaluate", "--simulated", "8", "--seeds", "1-2", "--fleet-points", "600"]
    result = CliRunner().invoke(_app(), [*args, "--json", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())["fleets"]
    assert report["seeds"] == [1, 2]
    per_seed = report["per_seed"]
    assert report["pooled"]["events"] == sum(row["events"] for row in per_seed)
    assert report["pooled"]["series"] == 16
    assert "Simulated fleets" in result.output and "pooled" in result.output


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["NAB", "--seeds", "1-2"], "--simulated"),
        (["--simulated", "4", "--seeds", "1-2", "--seed", "3"], "not both"),
        (["--simulated", "4", "--seeds", "1-2", "--sweep", "0.4"], "--sweep runs one fleet"),
        (["--simulated", "4", "--seeds", "two"], "neither a seed nor a range"),
    ],
)
def test_evaluate_seeds_errors_name_the_option(tmp_path, args: list[str], reason: str) -> None:
    args = [str(_tiny_corpus(tmp_path)) if arg == "NAB" else arg for arg in args]
    result = CliRunner().invoke(_app(), ["evaluate", *args])
    assert result.exit_code != 0
    assert "--seeds" in str(result.exception) and reason in str(result.exception)


def test_evaluate_runs_the_configured_engine_settings(tmp_path, monkeypatch) -> None:
    root = _tiny_corpus(tmp_path)
    reset_config()
    plain, tuned = tmp_path / "plain.json", tmp_path / "tuned.json"
    result = CliRunner().invoke(_app(), ["evaluate", str(root), "--json", str(plain)])
    assert result.exit_code == 0, result.output
    # a series that may not alarm for its first 3,000 points scores its windows differently
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__ENGINE_CONFIG", '{"warmup_points": 3000}')
    result = CliRunner().invoke(_app(), ["evaluate", str(root), "--json", str(tuned)])
    assert result.exit_code == 0, result.output
    before, after = json.loads(plain.read_text()), json.loads(tuned.read_text())
    assert (before["engine_config"], after["engine_config"]) == ({}, {"warmup_points": 3000})
    assert before["nab"]["optimised"] != after["nab"]["optimised"]


def test_evaluate_refuses_a_misspelt_engine_setting(tmp_path, monkeypatch) -> None:
    reset_config()
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__ENGINE_CONFIG", '{"warmup_point": 300}')
    result = CliRunner().invoke(_app(), ["evaluate", str(_tiny_corpus(tmp_path))])
    assert isinstance(result.exception, ConfigError)
    assert "warmup_point" in str(result.exception) and "'warmup_points'" in str(result.exception)


def test_evaluate_plots_the_usual_range_not_the_alarm_band() -> None:
    from backend.analytics.engine import EngineRegistry
    from backend.cli.evaluate_cmd import _band
    from backend.evaluation.corpus import load_corpus
    from backend.evaluation.nab import series_of

    item = next(i for i in load_corpus(nab_dir()) if i.name == NAME)
    scored = EngineRegistry.get("default").score_series(series_of(item))
    band = _band(scored, 0.5)
    assert band is not None
    expected, low, high = band
    np.testing.assert_array_equal(expected, scored.expected)
    drawn = np.isfinite(low) & np.isfinite(high)
    assert drawn[200:].all()
    inside = (item.values >= low) & (item.values <= high)
    assert inside[drawn].mean() > 0.95
    # narrower than the alarm band wherever both are drawn
    assert np.median((high - low)[drawn]) < np.median((scored.upper - scored.lower)[drawn])
