"""Phase 1 verification: data contracts, windows, engine seam and aggregation, as documented.

Run with ``python verify_phase1.py``; exits non-zero on the first failed check.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

from verify_support import Checks, expect

check = Checks()


T0 = datetime(2024, 1, 1)


def _series(n: int = 10, metric: str = "cpu_usage"):  # type: ignore[no-untyped-def]
    from backend.analytics import MetricSeries

    stamps = [T0 + timedelta(minutes=i) for i in range(n)]
    return MetricSeries(
        "tenant-a", "cluster-1", "node-1", metric, stamps, [float(i) for i in range(n)]
    )


@check
def contracts_behave_as_documented() -> None:
    from backend.analytics import AggregatedAnomalyScore, AnomalyResult, AnomalyType
    from backend.analytics.types import MetricPoint

    series = _series(10)
    expect(series.length == 10 and len(series.values) == 10, "length")
    expect(sum(series.values) == 45.0 and max(series.values) == 9.0, "values like a list")
    expect(series.timestamps[0] == T0, "naive timestamps echo naive")
    expect(series.time_range == (T0, T0 + timedelta(minutes=9)), "time_range")
    expect(MetricPoint(T0, 1.0).unit is None, "MetricPoint")
    try:
        from backend.analytics import MetricSeries

        MetricSeries("t", "c", "n", "m", [T0, T0 + timedelta(minutes=1)], [1.0])
        raise AssertionError("length mismatch accepted")
    except ValueError:
        pass
    result = AnomalyResult("t", "c", "n", "m", T0, T0, 0.7, AnomalyType.SPIKE.value)
    expect(result.is_anomaly, "is_anomaly")
    try:
        AnomalyResult("t", "c", "n", "m", T0, T0, 1.7, "spike")
        raise AssertionError("score > 1 accepted")
    except ValueError:
        pass
    score = AggregatedAnomalyScore("t", 0.4)
    expect(score.aggregation_strategy == "max" and score.cluster_id is None, "score defaults")


@check
def windows_slide_and_cover() -> None:
    from backend.analytics import SlidingWindowExtractor
    from backend.analytics.windows import TimeBasedWindowExtractor

    series = _series(250)
    extractor = SlidingWindowExtractor(window_size_points=100, stride_points=50)
    windows = extractor.extract(series)
    expect(len(windows) == 4, f"4 full windows of 100 by 50 over 250 points, got {len(windows)}")
    expect(windows[0].start_time == T0 and windows[0].size == 100, "first window")
    _timestamps, values = extractor.extract_window_data(series, windows[1])
    expect(len(values) == 100 and values[0] == 50.0, "window data")
    expect(extractor.config["window_size_points"] == 100, "config")
    partial = SlidingWindowExtractor(100, include_partial_windows=True).extract(series)
    expect(partial[-1].size == 50, "partial window at the end")
    hourly = TimeBasedWindowExtractor(timedelta(hours=1)).extract(series)
    expect(len(hourly) == 4, f"4 full hours in 250 minutes, got {len(hourly)}")
    expect(SlidingWindowExtractor(100).extract(_series(5)) == [], "short series: no windows")


@check
def engine_registry_serves_default_engine() -> None:
    from backend.analytics import AnomalyDetectionEngine, EngineRegistry

    expect("default" in EngineRegistry.list_available(), "default engine listed")
    engine = EngineRegistry.get("default")
    expect(isinstance(engine, AnomalyDetectionEngine), "engine type")
    expect(bool(engine.engine_name()) and bool(engine.engine_version()), "name and version")


@check
def aggregation_matches_documented_example() -> None:
    from backend.analytics import AggregationPipeline, AnomalyResult
    from backend.analytics.aggregation import (
        AggregationStrategy,
        ClusterAnomalyAggregator,
        NodeAnomalyAggregator,
        TenantAnomalyAggregator,
    )

    results = [
        AnomalyResult("t", "c1", "n1", "cpu_usage", T0, T0, 0.9, "spike"),
        AnomalyResult("t", "c1", "n1", "memory_used", T0, T0, 0.1, "normal"),
    ]
    expect(
        NodeAnomalyAggregator(AggregationStrategy.MAX).aggregate(results).aggregate_score == 0.9,
        "MAX",
    )
    mean = NodeAnomalyAggregator(AggregationStrategy.MEAN).aggregate(results).aggregate_score
    expect(abs(mean - 0.5) < 1e-9, "MEAN")
    p95 = NodeAnomalyAggregator(AggregationStrategy.P95).aggregate(results).aggregate_score
    expect(abs(p95 - 0.9) < 0.05, f"P95 ≈ 0.9, got {p95}")
    weighted = NodeAnomalyAggregator(
        AggregationStrategy.WEIGHTED, metric_weights={"cpu_usage": 3.0, "memory_used": 1.0}
    ).aggregate(results)
    expect(abs(weighted.aggregate_score - 0.7) < 1e-9, "WEIGHTED")
    node = NodeAnomalyAggregator().aggregate(results)
    expect(node.num_metrics_analyzed == 2 and node.num_anomalies_detected == 1, "counts")
    expect(node.top_contributors(1)[0].component == "cpu_usage", "provenance names cpu_usage")
    other = NodeAnomalyAggregator().aggregate(
        [AnomalyResult("t", "c1", "n2", "cpu_usage", T0, T0, 0.3, "normal")]
    )
    ranked = ClusterAnomalyAggregator().rank_nodes([other, node], top_n=1)
    expect([s.node_id for s in ranked] == ["n1"], "rank_nodes worst first")
    cluster = ClusterAnomalyAggregator().aggregate([node, other])
    expect(cluster.node_id is None and cluster.cluster_id == "c1", "cluster level")
    tenant = TenantAnomalyAggregator().aggregate([cluster])
    expect(tenant.cluster_id is None and tenant.aggregate_score == 0.9, "tenant level")
    by_cluster = AggregationPipeline().aggregate_nodes(results)
    expect(list(by_cluster) == ["c1"] and by_cluster["c1"][0].node_id == "n1", "pipeline")


if __name__ == "__main__":
    sys.exit(check.run())
