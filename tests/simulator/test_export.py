"""Export round trips: long table and labels through CSV and Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from backend.errors import IngestionError, ValidationError
from backend.ingestion.files import read_metric_file
from backend.simulator.export import read_labels, read_long_frame, write_fleet
from backend.simulator.fleet import FleetSpec, SimulatedFleet, simulate_fleet


@pytest.fixture(scope="module")
def fleet() -> SimulatedFleet:
    spec = FleetSpec(
        tenants=2,
        nodes_per_cluster=2,
        metrics=("cpu_usage", "latency", "disk_io"),
        num_points=120,
        seed=3,
        anomaly_ratio=0.5,
    )
    return simulate_fleet(spec)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_fleet_long_table_round_trips(
    fleet: SimulatedFleet, tmp_path: Path, fmt: str
) -> None:
    result = write_fleet(fleet, tmp_path, fmt)
    metrics_file = tmp_path / f"metrics.{fmt}"
    assert result.files == (metrics_file, tmp_path / "labels.csv")
    back = read_long_frame(metrics_file)
    pd.testing.assert_frame_equal(back, fleet.to_frame())
    assert result.rows == len(back) == fleet.n_points


def test_write_fleet_both_formats(fleet: SimulatedFleet, tmp_path: Path) -> None:
    result = write_fleet(fleet, tmp_path / "out", "both")
    assert sorted(p.name for p in result.files) == ["labels.csv", "metrics.csv", "metrics.parquet"]
    assert all(p.stat().st_size > 0 for p in result.files)


def test_write_fleet_labels_round_trip(fleet: SimulatedFleet, tmp_path: Path) -> None:
    write_fleet(fleet, tmp_path, "csv")
    back = read_labels(tmp_path / "labels.csv")
    pd.testing.assert_frame_equal(back, fleet.labels_frame())


def test_write_fleet_csv_uses_iso_utc_timestamps(fleet: SimulatedFleet, tmp_path: Path) -> None:
    write_fleet(fleet, tmp_path, "csv")
    first_row = (tmp_path / "metrics.csv").read_text().splitlines()[1]
    assert '"2024-01-01T00:00:00Z"' in first_row


def test_write_fleet_reports_each_file(fleet: SimulatedFleet, tmp_path: Path) -> None:
    seen: list[Path] = []
    write_fleet(fleet, tmp_path, "parquet", progress=seen.append)
    assert [p.name for p in seen] == ["metrics.parquet", "labels.csv"]


def test_write_fleet_bad_format_names_field(fleet: SimulatedFleet, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        write_fleet(fleet, tmp_path, "xlsx")
    assert caught.value.field == "format"


def test_write_fleet_output_dir_is_a_file(fleet: SimulatedFleet, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    with pytest.raises(ValidationError) as caught:
        write_fleet(fleet, target, "csv")
    assert caught.value.field == "output_dir"


def test_read_long_frame_missing_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("tenant_id,value\nt,1.0\n")
    with pytest.raises(IngestionError, match="cluster_id"):
        read_long_frame(path)


def test_read_labels_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(IngestionError, match=r"labels\.csv"):
        read_labels(tmp_path / "labels.csv")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_ingested_export_keeps_each_series_unit(
    fleet: SimulatedFleet, tmp_path: Path, fmt: str
) -> None:
    write_fleet(fleet, tmp_path, fmt)
    read = read_metric_file(tmp_path / f"metrics.{fmt}")
    units = {c.key.metric_name: c.metadata.get("unit") for c in read}
    assert units == {"cpu_usage": "percent", "latency": "ms", "disk_io": "ops/s"}
    assert len(read) == len(fleet.series)


def test_a_series_without_a_unit_is_exported_without_one(tmp_path: Path) -> None:
    plain = simulate_fleet(FleetSpec(tenants=1, nodes_per_cluster=1, metrics=("queue_depth",),
                                     num_points=50, seed=1))  # fmt: skip
    assert plain.series[0].metadata.get("unit") is None
    write_fleet(plain, tmp_path, "both")
    for name in ("metrics.csv", "metrics.parquet"):
        [candidate] = read_metric_file(tmp_path / name)
        assert "unit" not in candidate.metadata, name
