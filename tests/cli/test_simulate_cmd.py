"""``aboutcloud simulate``: files written, summary, reproducibility and option errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from backend.cli.simulate_cmd import register
from backend.simulator.export import read_labels, read_long_frame

WIDE = {"COLUMNS": "200"}


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test root so ``simulate`` stays a subcommand."""

    register(app)
    return app


def _run(*args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(_app(), ["simulate", *args], env=WIDE)
    return outcome.exit_code, outcome.output


def _base(out: Path, *extra: str) -> list[str]:
    return ["--n-series", "20", "--n-points", "60", "--seed", "5", "--output-dir", str(out), *extra]


def test_simulate_writes_csv_and_labels_with_summary(tmp_path: Path) -> None:
    code, out = _run(*_base(tmp_path / "out"))
    assert code == 0, out
    frame = read_long_frame(tmp_path / "out" / "metrics.csv")
    labels = read_labels(tmp_path / "out" / "labels.csv")
    assert frame.groupby(["tenant_id", "cluster_id", "node_id", "metric_name"]).ngroups == 20
    assert len(labels) == 6  # at least one series per kind
    assert "metrics.csv" in out and "labels.csv" in out
    assert f"rows: {len(frame):,}" in out
    for kind in labels["kind"].unique():
        assert kind in out


def test_simulate_both_formats_agree(tmp_path: Path) -> None:
    code, out = _run(*_base(tmp_path, "--format", "both", "--freq", "5min"))
    assert code == 0, out
    from_csv = read_long_frame(tmp_path / "metrics.csv")
    from_parquet = read_long_frame(tmp_path / "metrics.parquet")
    pd.testing.assert_frame_equal(from_csv, from_parquet)
    steps = from_csv.groupby(["node_id", "metric_name"])["timestamp"].diff().dropna()
    assert steps.dt.total_seconds().min() == 300


def test_simulate_same_seed_same_files(tmp_path: Path) -> None:
    _run(*_base(tmp_path / "a"))
    _run(*_base(tmp_path / "b"))
    assert (tmp_path / "a" / "metrics.csv").read_bytes() == (
        tmp_path / "b" / "metrics.csv"
    ).read_bytes()


def test_simulate_spreads_series_over_tenants_and_clusters(tmp_path: Path) -> None:
    code, out = _run(
        "--n-series", "40", "--n-points", "30", "--anomaly-ratio", "0", "--tenants", "2",
        "--clusters", "2", "--metrics", "cpu_usage,latency", "--output-dir", str(tmp_path),
        "--format", "parquet",
    )  # fmt: skip
    assert code == 0, out
    frame = read_long_frame(tmp_path / "metrics.parquet")
    nodes = frame.groupby(["tenant_id", "cluster_id"])["node_id"].nunique()
    assert len(nodes) == 4 and set(nodes) == {5}
    assert set(frame["metric_name"]) == {"cpu_usage", "latency"}
    assert "anomalies: 0" in out


def test_simulate_without_seed_prints_the_drawn_seed(tmp_path: Path) -> None:
    code, out = _run("--n-series", "2", "--n-points", "30", "--output-dir", str(tmp_path))
    assert code == 0, out
    assert "seed:" in out and "--seed" in out


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--n-series", "0"], "--n-series"),
        (["--anomaly-ratio", "1.5"], "--anomaly-ratio"),
        (["--freq", "sometimes"], "--freq"),
        (["--format", "xlsx"], "--format"),
        (["--n-points", "5"], "--n-points"),
        (["--metrics", ","], "--metrics"),
        (["--start", "not-a-date"], "--start"),
        (["--seed", "-4"], "--seed"),
    ],
)
def test_simulate_bad_option_names_it(tmp_path: Path, args: list[str], option: str) -> None:
    code, out = _run("--output-dir", str(tmp_path / "x"), *args)
    assert code == 2
    assert option in out
    assert not (tmp_path / "x").exists()


def test_simulate_output_dir_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("taken")
    code, out = _run("--n-series", "2", "--n-points", "30", "--output-dir", str(target))
    assert code == 2 and "--output-dir" in out
