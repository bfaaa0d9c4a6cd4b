"""IngestionPipeline: batch semantics (partial vs atomic, isolation, idempotence) and the
documented collect-and-ingest API, against a real InMemoryStorage."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backend.analytics.types import MetricSeries, SeriesKey
from backend.errors import IngestionError, StorageError, ValidationError
from backend.ingestion.candidate import SeriesCandidate
from backend.ingestion.collector import MetricCollector
from backend.ingestion.files import read_metric_file
from backend.ingestion.pipeline import IngestionPipeline
from backend.ingestion.sources import SimulatorSource
from backend.ingestion.validator import MetricValidator
from backend.simulator.generator import SimulatorConfig
from backend.storage.memory_storage import InMemoryStorage

NS = 1_000_000_000
START = datetime(2024, 1, 1)
END = datetime(2024, 1, 1, 2, 0)


def make(node: str, values: list[float], tenant: str = "acme") -> MetricSeries:
    ts = 1_704_067_200 + 60 * np.arange(len(values))
    return MetricSeries(tenant, "prod", node, "cpu_usage", ts, values)


def pipeline(storage: InMemoryStorage | None = None) -> IngestionPipeline:
    collector = MetricCollector(SimulatorSource(SimulatorConfig(seed=11)))
    return IngestionPipeline(collector, MetricValidator(), storage)


def bad_candidate(node: str = "bad") -> SeriesCandidate:
    key = SeriesKey("acme", "prod", node, "cpu_usage")
    return SeriesCandidate(key, np.array([0, 60, 120]) * NS + 1_704_067_200 * NS,
                           np.array([1.0, np.nan, 2.0]))  # fmt: skip


def test_ingest_series_partial_stores_valid_rejects_invalid_whole() -> None:
    storage = InMemoryStorage()
    good = make("n1", [1.0, 2.0, 3.0])

    report = pipeline(storage).ingest_series("acme", [good, make("n2", [1.0, 500.0])])

    assert report.accepted_keys == [good.key]
    assert (report.accepted_points, report.rejected_points) == (3, 2)
    (rejection,) = report.rejected
    assert rejection.key.node_id == "n2"
    assert rejection.reasons == ["values[1]=500.0: must be in [0, 100] (name cpu_usage)"]
    assert report.stored and report.points_written == 3
    assert storage.list_series("acme") == [good.key]
    assert storage.get_metric_series(*good.key) == good


def test_ingest_series_atomic_rejects_whole_batch() -> None:
    storage = InMemoryStorage()
    good = make("n1", [1.0, 2.0])

    report = pipeline(storage).ingest_series("acme", [good, bad_candidate()], atomic=True)

    assert report.accepted == ()
    assert {r.key.node_id: r.batch_only for r in report.rejected} == {"bad": False, "n1": True}
    assert "atomic" in report.rejected[1].reasons[0]
    assert not report.stored
    assert storage.list_series("acme") == []
    stats = report.to_stats()
    assert (stats.total_valid, stats.total_invalid, stats.total_stored) == (1, 1, 0)


def test_ingest_series_atomic_all_good_stores_everything() -> None:
    storage = InMemoryStorage()

    report = pipeline(storage).ingest_series("acme", [make("n1", [1.0]), make("n2", [2.0])],
                                             atomic=True)  # fmt: skip

    assert len(report.accepted) == 2
    assert len(storage.list_series("acme")) == 2


def test_ingest_series_other_tenant_rejected_as_isolation_violation() -> None:
    storage = InMemoryStorage()
    foreign = make("n1", [1.0], tenant="globex")

    report = pipeline(storage).ingest_series("acme", [make("n1", [1.0]), foreign])

    (rejection,) = report.rejected
    assert rejection.key == foreign.key
    assert rejection.issues[0].field == "tenant_id"
    assert "tenant isolation" in rejection.reasons[0]
    assert storage.list_series("globex") == []


def test_ingest_series_bad_tenant_argument_raises() -> None:
    with pytest.raises(ValidationError, match="tenant_id"):
        pipeline().ingest_series("", [make("n1", [1.0])])


def test_ingest_series_later_bad_batch_never_alters_accepted_data() -> None:
    storage = InMemoryStorage()
    p = pipeline(storage)
    original = make("n1", [1.0, 2.0, 3.0])
    p.ingest_series("acme", [original])
    corrupt = SeriesCandidate(original.key, original.timestamps_ns.copy(),
                              np.array([9.0, 9.0, np.inf]))  # fmt: skip

    report = p.ingest_series("acme", [corrupt, make("n1", [50.0, 700.0, 50.0])])

    assert report.accepted == ()
    assert storage.get_metric_series(*original.key) == original


def test_ingest_series_reingest_same_file_is_idempotent(tmp_path: Path) -> None:
    storage = InMemoryStorage()
    p = pipeline(storage)
    frame = pd.DataFrame({
        "tenant_id": "acme", "cluster_id": "prod", "node_id": ["n1"] * 3 + ["n2"] * 3,
        "metric_name": "cpu_usage", "timestamp": [0, 60, 120] * 2,
        "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })  # fmt: skip
    path = tmp_path / "m.csv"
    frame.to_csv(path, index=False)

    first = p.ingest_series("acme", read_metric_file(path))
    before = [storage.get_metric_series(*key) for key in storage.list_series("acme")]
    second = p.ingest_series("acme", read_metric_file(path))
    after = [storage.get_metric_series(*key) for key in storage.list_series("acme")]

    assert first.accepted_points == second.accepted_points == 6
    assert before == after
    assert storage.get_stats()["total_points"] == 6


def test_ingest_series_file_rejection_names_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("tenant_id,cluster_id,node_id,metric_name,timestamp,value\n"
                    "acme,prod,n1,cpu_usage,1704067200,1\n"
                    "acme,prod,n2,cpu_usage,1704067200,1\n"
                    "acme,prod,n2,cpu_usage,1704067260,120\n")  # fmt: skip

    report = pipeline(InMemoryStorage()).ingest_series("acme", read_metric_file(path))

    assert [k.node_id for k in report.accepted_keys] == ["n1"]
    assert report.rejected[0].reasons == [
        f"values[1]=120.0: must be in [0, 100] (name cpu_usage) [{path} row 3]"
    ]


def test_ingest_series_file_duplicate_timestamp_names_row(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("tenant_id,cluster_id,node_id,metric_name,timestamp,value\n"
                    "acme,prod,n1,cpu_usage,1704067260,1\n"
                    "acme,prod,n1,cpu_usage,1704067200,1\n"
                    "acme,prod,n1,cpu_usage,1704067260,2\n")  # fmt: skip

    report = pipeline(InMemoryStorage()).ingest_series("acme", read_metric_file(path))

    (rejection,) = report.rejected
    assert rejection.issues[0].field == "timestamps[2]"
    assert "duplicate timestamp" in rejection.reasons[0]
    assert rejection.issues[0].location == f"{path} row 3"


def test_ingest_series_unsorted_candidate_sorted_when_validator_allows() -> None:
    key = SeriesKey("acme", "prod", "n1", "cpu_usage")
    ts = (np.array([120, 0, 60]) + 1_704_067_200) * NS
    p = IngestionPipeline(None, MetricValidator(require_sorted=False), InMemoryStorage())

    report = p.ingest_series("acme", [SeriesCandidate(key, ts, np.array([3.0, 1.0, 2.0]))])

    assert report.accepted[0].values == [1.0, 2.0, 3.0]


def test_ingest_series_without_storage_validates_only() -> None:
    report = pipeline(None).ingest_series("acme", [make("n1", [1.0])])

    assert len(report.accepted) == 1
    assert not report.stored


def test_ingest_series_reports_warnings_and_progress() -> None:
    gappy = MetricSeries("acme", "prod", "n1", "cpu_usage", [0, 3600], [1.0, 2.0])
    advanced: list[int] = []

    report = pipeline().ingest_series("acme", [gappy, bad_candidate()], progress=advanced.append)

    assert len(report.accepted) == 1
    assert "max_gap_seconds" in report.warnings[0].reason
    assert advanced == [2, 3]


class FailingStorage(InMemoryStorage):
    def store_metrics(self, series_list: Any) -> Any:
        raise StorageError("disk full")


def test_ingest_series_storage_failure_propagates() -> None:
    with pytest.raises(StorageError, match="disk full"):
        pipeline(FailingStorage()).ingest_series("acme", [make("n1", [1.0])])


def test_ingest_cluster_collects_validates_stores() -> None:
    storage = InMemoryStorage()

    series_list, stats = pipeline(storage).ingest_cluster(
        "acme", "prod", ["n1", "n2", "n3"], "cpu_usage", START, END
    )

    assert [s.node_id for s in series_list] == ["n1", "n2", "n3"]
    assert all(s.length == 121 for s in series_list)
    assert (stats.total_collected, stats.total_valid, stats.total_stored) == (3, 3, 3)
    assert stats.points_accepted == 363
    assert stats.success_rate() == 1.0
    assert len(storage.list_series("acme", cluster_id="prod")) == 3


def test_ingest_cluster_records_collection_failure_and_continues() -> None:
    storage = InMemoryStorage()

    series_list, stats = pipeline(storage).ingest_cluster(
        "acme", "prod", ["n1", ""], "cpu_usage", START, END
    )

    assert [s.node_id for s in series_list] == ["n1"]
    assert (stats.total_collected, stats.total_invalid, stats.total_stored) == (2, 1, 1)
    assert "collection failed" in stats.errors[0]
    assert stats.success_rate() == 0.5


def test_ingest_cluster_storage_failure_recorded_in_stats() -> None:
    series_list, stats = pipeline(FailingStorage()).ingest_cluster(
        "acme", "prod", ["n1"], "cpu_usage", START, END
    )

    assert len(series_list) == 1
    assert stats.total_stored == 0
    assert "disk full" in stats.errors[-1]


def test_ingest_metric_returns_series_and_stats() -> None:
    storage = InMemoryStorage()

    series, stats = pipeline(storage).ingest_metric("acme", "prod", "n1", "memory_used",
                                                    START, END)  # fmt: skip

    assert series is not None
    assert series.key == SeriesKey("acme", "prod", "n1", "memory_used")
    assert stats.total_stored == 1
    assert storage.get_metric_series(*series.key) == series


def test_ingest_metric_invalid_series_returns_none() -> None:
    p = IngestionPipeline(MetricCollector(SimulatorSource(SimulatorConfig(seed=1))),
                          MetricValidator(bounds={"cpu_usage": (1000.0, None)}))  # fmt: skip

    series, stats = p.ingest_metric("acme", "prod", "n1", "cpu_usage", START, END)

    assert series is None
    assert (stats.total_invalid, stats.total_stored) == (1, 0)
    assert "configured for cpu_usage" in stats.errors[0]


def test_get_stats_summary_mentions_counts_rate_and_errors() -> None:
    _, stats = pipeline().ingest_cluster("acme", "prod", ["n1", ""], "cpu_usage", START, END)

    summary = IngestionPipeline.get_stats_summary(stats)

    assert "2 series collected, 1 valid, 1 invalid" in summary
    assert "success rate 50.0%" in summary
    assert "collection failed" in summary


def test_ingest_cluster_without_collector_is_clear_error() -> None:
    p = IngestionPipeline(None, MetricValidator())

    with pytest.raises(IngestionError, match="no collector"):
        p.ingest_cluster("acme", "prod", ["n1"], "cpu_usage", START, END)
