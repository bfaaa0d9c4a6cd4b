"""CSV replay: good files load, malformed ones name file, line, field and reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from backend.errors import CSVReplayError, IngestionError
from backend.simulator.baseline import MetricSimulator
from backend.simulator.config import SimulatorConfig
from backend.simulator.csv_replay import CSVMetricLoader, CSVScenarioReplayer, write_series_csv

IDS = ("t1", "c1", "n1", "cpu_usage")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_load_from_csv_reads_points(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m.csv", "timestamp,value\n2024-01-01T00:00:00,1.5\n2024-01-01T00:01:00,2.5\n"
    )
    series = CSVMetricLoader().load_from_csv(path, *IDS)
    assert series.key == IDS
    assert series.values == [1.5, 2.5]
    assert series.timestamps[1] == datetime(2024, 1, 1, 0, 1)
    assert series.metadata["source"] == str(path)


def test_load_from_csv_custom_format_and_extra_columns(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m.csv", "Value,host,Timestamp\n3,a,01/02/2024 10:00\n\n4,a,01/02/2024 10:05\n"
    )
    series = CSVMetricLoader().load_from_csv(path, *IDS, timestamp_format="%d/%m/%Y %H:%M")
    assert series.values == [3.0, 4.0]
    assert series.timestamps[0] == datetime(2024, 2, 1, 10, 0)


def test_load_from_csv_offsets_give_aware_utc(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", "timestamp,value\n2024-01-01T02:00:00+0200,1\n")
    series = CSVMetricLoader().load_from_csv(path, *IDS, timestamp_format="%Y-%m-%dT%H:%M:%S%z")
    assert series.timestamps[0] == datetime(2024, 1, 1, tzinfo=UTC)


def test_create_sample_csv_round_trips(tmp_path: Path) -> None:
    loader = CSVMetricLoader()
    path = loader.create_sample_csv(tmp_path / "deep" / "sample.csv", num_points=50)
    series = loader.load_from_csv(path, *IDS)
    assert series.length == 50
    assert min(series.values) >= 0.0 and max(series.values) <= 100.0


def test_write_series_csv_round_trips_exact_values(tmp_path: Path) -> None:
    sim = MetricSimulator(SimulatorConfig(seed=1))
    series = sim.generate(*IDS, num_points=30, start_time=datetime(2024, 5, 1))
    back = CSVMetricLoader().load_from_csv(write_series_csv(series, tmp_path / "x.csv"), *IDS)
    assert np.array_equal(back.values_array, series.values_array)
    assert np.array_equal(back.timestamps_ns, series.timestamps_ns)


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("", 1, "header"),
        ("time,value\n2024-01-01T00:00:00,1\n", 1, "header"),
        ("timestamp,value\n", 2, "timestamp"),
        ("timestamp,value\n2024-01-01T00:00:00,1\n2024-01-01T00:01:00,abc\n", 3, "value"),
        ("timestamp,value\n2024-01-01T00:00:00,nan\n", 2, "value"),
        ("timestamp,value\n2024-01-01T00:00:00,1\nyesterday,2\n", 3, "timestamp"),
        ("timestamp,value\n2024-01-01T00:00:00,1,extra\n", 2, "row"),
        ("timestamp,value\n2024-01-01T00:01:00,1\n2024-01-01T00:00:00,2\n", 3, "timestamp"),
        ("timestamp,value\n2024-01-01T00:00:00,1\n\n2024-01-01T00:00:00,2\n", 4, "timestamp"),
    ],
)
def test_load_from_csv_malformed_names_file_line_field(
    tmp_path: Path, text: str, line: int, field: str
) -> None:
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(CSVReplayError) as caught:
        CSVMetricLoader().load_from_csv(path, *IDS)
    message = str(caught.value)
    assert str(path) in message and f"line {line}" in message and repr(field) in message
    assert isinstance(caught.value, IngestionError | ValueError)


def test_load_from_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CSVReplayError, match=r"nope\.csv"):
        CSVMetricLoader().load_from_csv(tmp_path / "nope.csv", *IDS)


def _scenario(root: Path) -> None:
    sim = MetricSimulator(SimulatorConfig(seed=2))
    for node in ("node-b", "node-a"):
        for metric in ("latency", "cpu_usage"):
            series = sim.generate("t1", "c1", node, metric, 20, datetime(2024, 1, 1))
            write_series_csv(series, root / "c1" / node / f"{metric}.csv")
    (root / "c1" / "empty-node").mkdir()
    (root / "c1" / "node-a" / "README.txt").write_text("not a metric")


def test_scenario_replayer_loads_layout(tmp_path: Path) -> None:
    _scenario(tmp_path)
    replayer = CSVScenarioReplayer(tmp_path, "t1")
    assert replayer.list_clusters() == ["c1"]
    scenario = replayer.load_scenario("c1")
    assert list(scenario) == ["node-a", "node-b"]
    assert [s.metric_name for s in scenario["node-a"]] == ["cpu_usage", "latency"]
    assert all(s.tenant_id == "t1" and s.length == 20 for s in scenario["node-b"])


def test_scenario_replayer_missing_cluster_names_directory(tmp_path: Path) -> None:
    _scenario(tmp_path)
    with pytest.raises(CSVReplayError, match="c9"):
        CSVScenarioReplayer(tmp_path, "t1").load_scenario("c9")


def test_scenario_replayer_bad_file_names_it(tmp_path: Path) -> None:
    _scenario(tmp_path)
    bad = _write(tmp_path / "c1" / "node-a" / "disk_io.csv", "timestamp,value\nx,1\n")
    with pytest.raises(CSVReplayError, match=r"disk_io\.csv, line 2"):
        CSVScenarioReplayer(tmp_path, "t1").load_scenario("c1")
    assert bad.exists()
