"""Phase 3 verification: simulator → ingestion → storage → detection → explanation → aggregation.

Injected anomalies must be found, labelled and rolled up so the anomalous node ranks first.
Runs with the default engine and, when ``aboutcloud[merlion]`` is installed, with Merlion too.
Run with ``python verify_phase3.py``; exits non-zero on any failed check.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from verify_support import Checks, expect

check = Checks()
T0 = datetime(2024, 1, 1)
POINTS = 2 * 1440


def _cluster_with_anomalies():  # type: ignore[no-untyped-def]
    """Four nodes × two metrics; node-2 gets a spike on cpu, node-3 a level shift on cpu."""
    from backend.simulator.generator import AnomalyInjector, MetricSimulator, SimulatorConfig

    simulator = MetricSimulator(SimulatorConfig(seed=11))
    series, truth = [], {}
    for node in ("node-1", "node-2", "node-3", "node-4"):
        for metric in ("cpu_usage", "latency"):
            s = simulator.generate("acme", "prod", node, metric, POINTS, start_time=T0)
            if (node, metric) == ("node-2", "cpu_usage"):
                s, truth[(node, metric)] = AnomalyInjector.inject_spike(s, 2400, magnitude=10.0)
            if (node, metric) == ("node-3", "cpu_usage"):
                s, truth[(node, metric)] = AnomalyInjector.inject_level_shift(
                    s, 2200, shift_amount=8 * float(s.values_array[:2000].std())
                )
            series.append(s)
    return series, truth


def _overlaps(result, meta) -> bool:  # type: ignore[no-untyped-def]
    late = meta["end_time"] + timedelta(minutes=10)
    return result.window_start <= late and result.window_end >= meta["start_time"]


@check
def default_engine_end_to_end() -> None:
    from backend.detection.runner import IncrementalDetector
    from backend.ingestion import IngestionPipeline, MetricCollector, MetricValidator
    from backend.ingestion.sources import SimulatorSource
    from backend.storage import open_storage

    series, truth = _cluster_with_anomalies()
    with tempfile.TemporaryDirectory() as tmp:
        storage = open_storage(f"sqlite:///{Path(tmp) / 'phase3.db'}")
        pipeline = IngestionPipeline(MetricCollector(SimulatorSource()), MetricValidator(), storage)
        report = pipeline.ingest_series("acme", series)
        expect(len(report.accepted) == len(series), f"all series ingested: {report.rejected}")
        run = IncrementalDetector(storage).run("acme")
        expect(run.points_scored == len(series) * POINTS, "every point scored once")
        for (node, metric), meta in truth.items():
            found = [r for r in run.anomalies if (r.node_id, r.metric_name) == (node, metric)]
            hit = [r for r in found if _overlaps(r, meta)]
            expect(bool(hit), f"{meta['kind']} on {node}/{metric} found")
            expect(all(r.explanation for r in hit), "anomalies carry an explanation")
        spike = next(
            r
            for r in run.anomalies
            if r.node_id == "node-2" and _overlaps(r, truth[("node-2", "cpu_usage")])
        )
        expect(spike.anomaly_label == "spike", f"spike labelled spike, got {spike.anomaly_label}")
        stored = storage.query_anomalies("acme", T0, T0 + timedelta(days=3), min_score=0.5)
        expect(len(stored) >= len(truth), "results stored")
        nodes = storage.query_aggregated_scores("acme", level="node", latest_only=True)
        expect(
            {s.node_id for s in nodes} == {"node-1", "node-2", "node-3", "node-4"},
            "all nodes scored",
        )
        expect(bool(storage.query_aggregated_scores("acme", level="tenant")), "tenant score stored")
        again = IncrementalDetector(storage).run("acme")
        expect(again.points_scored == 0, "second run has nothing new to score")
        storage.close()


@check
def documented_detection_pipeline() -> None:
    from backend.analytics import EngineRegistry, ExplanationClassifier
    from backend.analytics.detection_pipeline import AnomalyDetectionPipeline
    from backend.storage import InMemoryStorage

    series, truth = _cluster_with_anomalies()
    storage = InMemoryStorage()
    storage.store_metrics(series)
    pipeline = AnomalyDetectionPipeline(
        EngineRegistry.get("default"), ExplanationClassifier(), storage
    )
    results, explanations, stats = pipeline.detect_cluster(
        "acme", "prod", ["node-1", "node-2", "node-3", "node-4"], ["cpu_usage", "latency"]
    )
    expect(stats.metrics_processed == 8 and not stats.has_critical_errors(), f"stats: {stats}")
    expect(len(explanations) == stats.anomalies_detected, "one explanation per anomaly")
    for (node, metric), meta in truth.items():
        hit = [r for r in results if (r.node_id, r.metric_name) == (node, metric) and r.is_anomaly]
        expect(any(_overlaps(r, meta) for r in hit), f"{meta['kind']} on {node}/{metric} found")
    expect(all(e.description for e in explanations), "explanations have text")
    ranked = storage.query_aggregated_scores("acme", level="node", latest_only=True)
    worst = max(ranked, key=lambda s: s.aggregate_score)
    expect(
        worst.node_id in {"node-2", "node-3"}, f"an anomalous node ranks first, got {worst.node_id}"
    )
    expect(bool(worst.top_contributors(1)), "ranking keeps provenance")


@check
def merlion_engine_when_installed() -> None:
    if importlib.util.find_spec("merlion") is None:
        print("  (merlion extra not installed: Merlion check not run)")
        return
    from backend.analytics import EngineRegistry

    series, truth = _cluster_with_anomalies()
    target = next(s for s in series if (s.node_id, s.metric_name) == ("node-2", "cpu_usage"))
    engine = EngineRegistry.get("merlion", {"model": "ZMS", "window_size": 100})
    results = engine.detect(target)
    expect(all(r.key == target.key for r in results), "ids preserved")
    expect(all(0.0 <= r.anomaly_score <= 1.0 for r in results), "scores in [0, 1]")
    starts = [r.window_start for r in results]
    expect(starts == sorted(starts), "windows in time order")
    meta = truth[("node-2", "cpu_usage")]
    expect(any(r.is_anomaly and _overlaps(r, meta) for r in results), "Merlion finds the spike")


if __name__ == "__main__":
    sys.exit(check.run())
