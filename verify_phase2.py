"""Phase 2 verification: simulator, ingestion and storage, as documented.

Run with ``python verify_phase2.py``; exits non-zero on any failed check. Uses a temporary
directory for the embedded database, so it leaves nothing behind.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from verify_support import Checks, expect

check = Checks()
T0 = datetime(2024, 1, 1)


@check
def simulator_is_seeded_and_injects_labelled_anomalies() -> None:
    from backend.simulator.generator import (
        AnomalyInjector,
        MetricSimulator,
        SimulatorConfig,
        generate_multi_node_scenario,
    )

    config = SimulatorConfig(seed=7)
    first = MetricSimulator(config).generate(
        "t", "c", "n", "cpu_usage", num_points=500, start_time=T0
    )
    again = MetricSimulator(SimulatorConfig(seed=7)).generate(
        "t", "c", "n", "cpu_usage", num_points=500, start_time=T0
    )
    expect(first == again, "same seed, same series")
    expect(
        first.length == 500 and first.timestamps[1] - first.timestamps[0] == timedelta(minutes=1),
        "grid",
    )
    expect(min(first.values) >= 0 and max(first.values) <= 100, "cpu within 0-100 %")
    spiked, meta = AnomalyInjector.inject_spike(first, spike_index=300, magnitude=6.0)
    expect(
        spiked.values[300] != first.values[300] and first == again, "spike injected, input intact"
    )
    expect(meta["start_index"] == 300, "spike metadata")
    _, trend_meta = AnomalyInjector.inject_trend(first, start_index=200, slope=0.1)
    _, shift_meta = AnomalyInjector.inject_level_shift(first, shift_index=250, shift_amount=20.0)
    expect(trend_meta["kind"] == "drift" and shift_meta["kind"] == "level_shift", "kinds")
    fleet = generate_multi_node_scenario("t", "c", num_nodes=5, num_points=200)
    expect(len({s.node_id for s in fleet}) == 5, "multi-node scenario")


@check
def ingestion_validates_and_stores() -> None:
    from backend.ingestion import MetricValidator, TenantIsolationValidator
    from backend.ingestion.collector import MetricCollector
    from backend.ingestion.pipeline import IngestionPipeline
    from backend.ingestion.sources import SimulatorSource
    from backend.storage import InMemoryStorage

    storage = InMemoryStorage()
    pipeline = IngestionPipeline(MetricCollector(SimulatorSource()), MetricValidator(), storage)
    series_list, stats = pipeline.ingest_cluster(
        "tenant-a", "cluster-1", ["node-1", "node-2"], "cpu_usage", T0, T0 + timedelta(hours=2)
    )
    expect(len(series_list) == 2 and stats.total_stored == 2, "two series stored")
    expect(stats.success_rate() == 1.0, "success rate")
    expect("2" in pipeline.get_stats_summary(stats), "summary mentions counts")
    stored = storage.get_metric_series(
        "tenant-a", "cluster-1", "node-1", "cpu_usage", T0, T0 + timedelta(hours=2)
    )
    expect(stored.length == series_list[0].length, "stored what was collected")
    result = MetricValidator().validate(series_list[0])
    expect(result.is_valid and result.errors == [], "valid series")
    isolation = TenantIsolationValidator.validate_tenant_isolation(series_list, "tenant-b")
    expect(not isolation.is_valid, "other tenant's series flagged")


@check
def storage_round_trips_and_isolates_tenants() -> None:
    from backend.analytics import AggregatedAnomalyScore, AnomalyResult, MetricSeries
    from backend.storage import InMemoryStorage, configure_storage, get_metric_series, open_storage

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'verify.db'}"
        for storage in (InMemoryStorage(), open_storage(url)):
            stamps = [T0 + timedelta(minutes=i) for i in range(60)]
            series = MetricSeries(
                "tenant-a", "c", "n", "cpu_usage", stamps, [float(i) for i in range(60)]
            )
            storage.store_metric(series)
            storage.store_metric(series)
            back = storage.get_metric_series(
                "tenant-a", "c", "n", "cpu_usage", T0, T0 + timedelta(hours=1)
            )
            expect(back.length == 60, "re-ingest does not duplicate")
            try:
                storage.get_metric_series(
                    "tenant-b", "c", "n", "cpu_usage", T0, T0 + timedelta(hours=1)
                )
                raise AssertionError("another tenant read tenant-a's series")
            except ValueError:
                pass
            result = AnomalyResult(
                "tenant-a", "c", "n", "cpu_usage", stamps[10], stamps[12], 0.8, "spike"
            )
            storage.store_anomaly_result("tenant-a", "c", "n", "cpu_usage", result)
            found = storage.query_anomalies("tenant-a", T0, T0 + timedelta(hours=1))
            expect(len(found) == 1 and found[0]["anomaly_label"] == "spike", "anomaly round-trip")
            expect(
                storage.query_anomalies("tenant-b", T0, T0 + timedelta(hours=1)) == [], "isolated"
            )
            storage.store_aggregated_score(AggregatedAnomalyScore("tenant-a", 0.8, cluster_id="c"))
            stats = storage.get_stats()
            expect(stats["total_anomalies"] == 1 and stats["total_aggregated_scores"] == 1, "stats")
            configure_storage(storage)
            expect(
                get_metric_series("tenant-a", "c", "n", "cpu_usage", T0, stamps[9]).length == 10,
                "module-level get_metric_series uses the configured backend",
            )
            storage.close()
        reopened = open_storage(url)
        expect(
            reopened.get_metric_series("tenant-a", "c", "n", "cpu_usage").length == 60,
            "data survives reopening",
        )
        reopened.close()


if __name__ == "__main__":
    sys.exit(check.run())
