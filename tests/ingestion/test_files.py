"""Long-format CSV/Parquet reading and FileSource."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backend.analytics.types import SeriesKey
from backend.errors import IngestionError, SeriesNotFoundError, SeriesValidationError
from backend.ingestion.files import FileSource, MetricFileError, read_metric_file

HEADER = "tenant_id,cluster_id,node_id,metric_name,timestamp,value,is_anomaly,anomaly_kind\n"
NS = 1_000_000_000
JAN1 = 1_704_067_200 * NS


def write(tmp_path: Path, body: str, name: str = "m.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body)
    return path


def frame(n_nodes: int = 2, n_points: int = 3) -> pd.DataFrame:
    rows = [
        ("acme", "prod", f"n{i}", "cpu_usage", f"2024-01-01T00:0{j}:00", 10.0 * i + j, False, "")
        for i in range(n_nodes)
        for j in range(n_points)
    ]
    return pd.DataFrame(rows, columns=HEADER.strip().split(","))


def test_read_metric_file_groups_and_sorts_per_series(tmp_path: Path) -> None:
    path = write(tmp_path, "acme,prod,n2,cpu_usage,2024-01-01T00:01:00,2,False,\n"
                           "acme,prod,n1,cpu_usage,2024-01-01T00:00:00,5,False,\n"
                           "acme,prod,n2,cpu_usage,2024-01-01T00:00:00,1,True,spike\n")  # fmt: skip

    candidates = read_metric_file(path)

    assert [c.key.node_id for c in candidates] == ["n1", "n2"]
    n2 = candidates[1]
    assert n2.timestamps_ns.tolist() == [JAN1, JAN1 + 60 * NS]
    assert n2.values.tolist() == [1.0, 2.0]
    assert n2.rows is not None
    assert n2.rows.tolist() == [3, 1]
    assert all(not c.issues for c in candidates)


def test_read_metric_file_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    frame().to_parquet(path)

    candidates = read_metric_file(path)

    assert [(c.key.node_id, len(c)) for c in candidates] == [("n0", 3), ("n1", 3)]
    assert candidates[1].values.tolist() == [10.0, 11.0, 12.0]


def test_read_metric_file_parquet_native_aware_timestamps(tmp_path: Path) -> None:
    data = frame(1, 2)
    data["timestamp"] = pd.to_datetime(data["timestamp"]).dt.tz_localize("Asia/Tokyo")
    path = tmp_path / "m.parquet"
    data.to_parquet(path)

    (candidate,) = read_metric_file(path)

    assert candidate.timestamps_ns.tolist() == [
        JAN1 - 9 * 3600 * NS,
        JAN1 - 9 * 3600 * NS + 60 * NS,
    ]


def test_read_metric_file_bad_rows_reject_only_their_series(tmp_path: Path) -> None:
    path = write(tmp_path, "acme,prod,n1,cpu_usage,2024-01-01T00:00:00,abc,False,\n"
                           "acme,prod,n1,cpu_usage,2024-01-01T00:01:00,,False,\n"
                           "acme,prod,n2,cpu_usage,not-a-time,3,False,\n"
                           "acme,prod,n3,cpu_usage,2024-01-01T00:00:00,4,False,\n")  # fmt: skip

    n1, n2, n3 = read_metric_file(path)

    assert [(i.field, i.value, i.reason, i.location) for i in n1.issues] == [
        ("value", "abc", "is not a number", f"{path} row 1"),
        ("value", None, "is missing", f"{path} row 2"),
    ]
    assert [(i.field, i.value, i.location) for i in n2.issues] == [
        ("timestamp", "not-a-time", f"{path} row 3")
    ]
    assert n3.issues == ()
    assert n3.values.tolist() == [4.0]


def test_read_metric_file_counts_repeated_problems(tmp_path: Path) -> None:
    body = "".join(f"acme,prod,n1,cpu_usage,2024-01-01T00:0{j}:00,nan,False,\n" for j in range(4))

    (candidate,) = read_metric_file(write(tmp_path, body))

    assert len(candidate.issues) == 1
    assert candidate.issues[0].count == 4


def test_read_metric_file_na_like_ids_stay_text(tmp_path: Path) -> None:
    path = write(tmp_path, "acme,NA,None,cpu_usage,1704067200,1,False,\n")

    (candidate,) = read_metric_file(path)

    assert candidate.key == SeriesKey("acme", "NA", "None", "cpu_usage")
    assert candidate.timestamps_ns.tolist() == [JAN1]


def test_read_metric_file_empty_ids_become_empty_strings(tmp_path: Path) -> None:
    (candidate,) = read_metric_file(write(tmp_path, "acme,prod,,cpu_usage,1704067200,1,False,\n"))

    assert candidate.key.node_id == ""


def test_read_metric_file_without_tenant_column_takes_default(tmp_path: Path) -> None:
    path = write(tmp_path, "prod,n1,cpu_usage,1704067200,1\n",
                 header="cluster_id,node_id,metric_name,timestamp,value\n")  # fmt: skip

    (candidate,) = read_metric_file(path, default_tenant="acme")

    assert candidate.key == SeriesKey("acme", "prod", "n1", "cpu_usage")


def test_read_metric_file_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "acme,prod,n1,cpu_usage,1704067200\n",
                 header="tenant_id,cluster_id,node_id,metric_name,timestamp\n")  # fmt: skip

    with pytest.raises(MetricFileError) as info:
        read_metric_file(path)

    assert (info.value.path, info.value.column) == (str(path), "value")
    assert isinstance(info.value, IngestionError)
    assert "missing required column" in str(info.value)


def test_read_metric_file_missing_tenant_without_default_is_error(tmp_path: Path) -> None:
    path = write(tmp_path, "prod,n1,cpu_usage,1704067200,1\n",
                 header="cluster_id,node_id,metric_name,timestamp,value\n")  # fmt: skip

    with pytest.raises(MetricFileError, match="tenant_id"):
        read_metric_file(path)


def test_read_metric_file_unknown_type_missing_and_corrupt(tmp_path: Path) -> None:
    text = tmp_path / "m.json"
    text.write_text("{}")
    corrupt = tmp_path / "m.parquet"
    corrupt.write_bytes(b"not parquet at all")

    with pytest.raises(MetricFileError, match="unsupported file type"):
        read_metric_file(text)
    with pytest.raises(MetricFileError, match="no such file"):
        read_metric_file(tmp_path / "absent.csv")
    with pytest.raises(MetricFileError, match="unreadable"):
        read_metric_file(corrupt)


def test_read_metric_file_header_only_has_no_series(tmp_path: Path) -> None:
    assert read_metric_file(write(tmp_path, "")) == []


def test_read_metric_file_unit_column_becomes_metadata(tmp_path: Path) -> None:
    header = "tenant_id,cluster_id,node_id,metric_name,timestamp,value,unit\n"
    path = write(tmp_path, "acme,prod,n1,error_rate,1704067200,0.5,ratio\n", header=header)

    (candidate,) = read_metric_file(path)

    assert candidate.metadata == {"unit": "ratio"}


def test_file_source_collect_range_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    frame(2, 5).to_csv(path, index=False)
    source = FileSource(path)

    series = source.collect("acme", "prod", "n1", "cpu_usage",
                            datetime(2024, 1, 1, 0, 1), datetime(2024, 1, 1, 0, 3))  # fmt: skip

    assert series.values == [11.0, 12.0, 13.0]
    assert series.timestamps[0] == datetime(2024, 1, 1, 0, 1)
    assert source.keys() == [SeriesKey("acme", "prod", f"n{i}", "cpu_usage") for i in range(2)]


def test_file_source_collect_aware_bounds_give_aware_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    frame(1, 2).to_csv(path, index=False)

    series = FileSource([path]).collect("acme", "prod", "n0", "cpu_usage",
                                        datetime(2024, 1, 1, tzinfo=UTC), None)  # fmt: skip

    assert series.timestamps[0] == datetime(2024, 1, 1, tzinfo=UTC)
    assert series.timestamps[0].tzinfo is not None


def test_file_source_merges_series_across_files(tmp_path: Path) -> None:
    data = frame(1, 4)
    data.iloc[:2].to_csv(tmp_path / "a.csv", index=False)
    data.iloc[2:].to_parquet(tmp_path / "b.parquet")

    series = FileSource([tmp_path / "b.parquet", tmp_path / "a.csv"]).collect(
        "acme", "prod", "n0", "cpu_usage", None, None
    )

    assert series.values == [0.0, 1.0, 2.0, 3.0]


def test_file_source_unknown_series_not_found(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    frame(1, 1).to_csv(path, index=False)

    with pytest.raises(SeriesNotFoundError):
        FileSource(path).collect("acme", "prod", "nope", "cpu_usage", None, None)


def test_file_source_bad_row_raises_named_error(tmp_path: Path) -> None:
    path = write(tmp_path, "acme,prod,n1,cpu_usage,2024-01-01T00:00:00,abc,False,\n")

    with pytest.raises(SeriesValidationError, match="is not a number"):
        FileSource(path).collect("acme", "prod", "n1", "cpu_usage", None, None)


def test_read_metric_file_large_file_is_columnar_fast(tmp_path: Path) -> None:
    n_series, n_points = 200, 500
    rng = np.random.default_rng(1)
    data = pd.DataFrame({
        "tenant_id": "acme", "cluster_id": "prod",
        "node_id": np.repeat([f"n{i}" for i in range(n_series)], n_points),
        "metric_name": "cpu_usage",
        "timestamp": np.tile(1_704_067_200 + 60 * np.arange(n_points), n_series),
        "value": rng.uniform(0, 100, n_series * n_points),
    }).sample(frac=1.0, random_state=1)  # fmt: skip
    path = tmp_path / "big.parquet"
    data.to_parquet(path)

    candidates = read_metric_file(path)

    assert len(candidates) == n_series
    assert all(len(c) == n_points and (np.diff(c.timestamps_ns) > 0).all() for c in candidates)
