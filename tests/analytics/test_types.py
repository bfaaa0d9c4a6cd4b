"""Behaviour of the data contracts every stage speaks."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from backend.analytics.types import (
    AggregatedAnomalyScore,
    AnomalyKind,
    AnomalyResult,
    AnomalyType,
    MetricPoint,
    MetricSeries,
    ScoreContribution,
    SeriesKey,
)
from backend.errors import ValidationError

T0 = datetime(2024, 3, 5, 14, 0)


def _series(n: int = 5, **kwargs: object) -> MetricSeries:
    stamps = [T0 + timedelta(minutes=i) for i in range(n)]
    return MetricSeries(
        "t1", "c1", "n1", "cpu_usage", stamps, [float(i) for i in range(n)], **kwargs
    )


def test_metric_series_behaves_like_lists() -> None:
    series = _series(4)
    assert len(series.values) == 4
    assert sum(series.values) == 6.0
    assert (min(series.values), max(series.values)) == (0.0, 3.0)
    assert series.values == [0.0, 1.0, 2.0, 3.0]
    assert series.timestamps[0] == T0
    assert series.timestamps[-1] > series.timestamps[0]
    assert list(series.timestamps)[1] == T0 + timedelta(minutes=1)
    assert series.length == 4
    assert series.time_range == (T0, T0 + timedelta(minutes=3))


def test_metric_series_holds_numpy_columns() -> None:
    series = _series(3)
    assert series.timestamps_ns.dtype == np.int64
    assert series.values_array.dtype == np.float64
    assert np.asarray(series.values) is series.values_array
    with pytest.raises(ValueError, match="read-only"):
        series.values_array[0] = 9.0


def test_metric_series_naive_input_echoes_naive() -> None:
    assert _series(2).timestamps[0].tzinfo is None


def test_metric_series_aware_input_echoes_aware_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    series = MetricSeries("t", "c", "n", "m", [datetime(2024, 1, 1, 12, tzinfo=plus_two)], [1.0])
    assert series.timestamps[0] == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert series.timestamps[0].tzinfo is not None


@pytest.mark.parametrize(
    "timestamps",
    [
        np.array(["2024-01-01T00:00", "2024-01-01T00:01"], dtype="datetime64[s]"),
        np.array([1_704_067_200, 1_704_067_260], dtype=np.int64),
        ["2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"],
    ],
)
def test_metric_series_accepts_columnar_and_edge_timestamps(timestamps: object) -> None:
    series = MetricSeries("t", "c", "n", "m", timestamps, np.array([1.0, 2.0]))
    assert series.timestamps[1] == datetime(2024, 1, 1, 0, 1)


def test_metric_series_length_mismatch_is_value_error_naming_field() -> None:
    with pytest.raises(ValueError, match="values") as info:
        MetricSeries("t", "c", "n", "m", [T0, T0 + timedelta(minutes=1)], [1.0])
    assert isinstance(info.value, ValidationError)
    assert info.value.field == "values"


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_metric_series_non_finite_value_rejected(bad: float) -> None:
    with pytest.raises(ValidationError) as info:
        MetricSeries("t", "c", "n", "m", [T0, T0 + timedelta(minutes=1)], [1.0, bad])
    assert info.value.field == "values[1]"


@pytest.mark.parametrize("offsets", [[0, 0], [1, 0]])
def test_metric_series_unsorted_or_duplicate_timestamps_rejected(offsets: list[int]) -> None:
    with pytest.raises(ValidationError, match="strictly increasing"):
        MetricSeries("t", "c", "n", "m", [T0 + timedelta(minutes=o) for o in offsets], [1.0, 2.0])


@pytest.mark.parametrize("field", ["tenant_id", "cluster_id", "node_id", "metric_name"])
@pytest.mark.parametrize("bad", ["", "   ", "a\nb", 7])
def test_metric_series_bad_id_names_field(field: str, bad: object) -> None:
    ids = {"tenant_id": "t", "cluster_id": "c", "node_id": "n", "metric_name": "m"}
    ids[field] = bad  # type: ignore[assignment]
    with pytest.raises(ValidationError) as info:
        MetricSeries(**ids, timestamps=[T0], values=[1.0])  # type: ignore[arg-type]
    assert info.value.field == field


def test_metric_series_empty_is_allowed() -> None:
    series = MetricSeries("t", "c", "n", "m", [], [])
    assert series.length == 0
    assert series.time_range == (None, None)


def test_metric_series_slice_and_equality() -> None:
    series = _series(5)
    part = series.slice(1, 3)
    assert part.values == [1.0, 2.0]
    assert part.key == series.key
    assert part != series
    assert series == _series(5)


def test_metric_series_pickles() -> None:
    series = _series(3, metadata={"unit": "%"})
    assert pickle.loads(pickle.dumps(series)) == series


def test_metric_series_from_arrays_round_trip() -> None:
    key = SeriesKey("t", "c", "n", "m")
    ns = np.array([0, 60_000_000_000], dtype=np.int64)
    series = MetricSeries.from_arrays(key, ns, np.array([1.0, 2.0]), aware=True)
    assert series.timestamps[1] == datetime(1970, 1, 1, 0, 1, tzinfo=UTC)
    assert np.array_equal(series.timestamps_ns, ns)


def test_metric_point_validates_value() -> None:
    assert MetricPoint(T0, 3).value == 3.0
    with pytest.raises(ValidationError, match="value"):
        MetricPoint(T0, float("nan"))


def _result(**overrides: object) -> AnomalyResult:
    fields: dict[str, object] = {
        "tenant_id": "t",
        "cluster_id": "c",
        "node_id": "n",
        "metric_name": "m",
        "window_start": T0,
        "window_end": T0 + timedelta(minutes=5),
        "anomaly_score": 0.9,
        "anomaly_label": "spike",
    }
    fields.update(overrides)
    return AnomalyResult(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("score", [-0.01, 1.01, float("nan")])
def test_anomaly_result_score_outside_unit_interval_is_value_error(score: float) -> None:
    with pytest.raises(ValueError, match="anomaly_score"):
        _result(anomaly_score=score)


def test_anomaly_result_label_must_be_one_of_four() -> None:
    with pytest.raises(ValidationError, match="anomaly_label"):
        _result(anomaly_label="level_shift")
    assert _result(anomaly_label=AnomalyType.TREND).anomaly_label == "trend"


def test_anomaly_result_kind_defaults_from_label_and_travels_beside_it() -> None:
    assert _result().anomaly_kind == "spike"
    shifted = _result(anomaly_label="trend", anomaly_kind=AnomalyKind.LEVEL_SHIFT)
    assert (shifted.anomaly_label, shifted.anomaly_kind) == ("trend", "level_shift")
    assert _result(anomaly_label="normal").anomaly_kind is None
    with pytest.raises(ValidationError, match="anomaly_kind"):
        _result(anomaly_label="normal", anomaly_kind="spike")


def test_anomaly_result_is_anomaly_property() -> None:
    assert _result().is_anomaly
    assert not _result(anomaly_label="normal").is_anomaly


def test_anomaly_result_window_end_before_start_rejected() -> None:
    with pytest.raises(ValidationError, match="window_end"):
        _result(window_end=T0 - timedelta(minutes=1))


def test_anomaly_result_echoes_naive_window() -> None:
    result = _result()
    assert result.window_start == T0
    assert result.timestamp_detected.tzinfo is not None


def test_anomaly_kind_maps_to_label() -> None:
    assert AnomalyKind.DIP.label is AnomalyType.SPIKE
    assert AnomalyKind.LEVEL_SHIFT.label is AnomalyType.TREND
    assert AnomalyKind.SEASONAL.label is AnomalyType.SEASONAL


def test_aggregated_score_levels() -> None:
    assert AggregatedAnomalyScore("t", 0.5).level == "tenant"
    assert AggregatedAnomalyScore("t", 0.5, cluster_id="c").level == "cluster"
    assert AggregatedAnomalyScore("t", 0.5, cluster_id="c", node_id="n").level == "node"
    with pytest.raises(ValidationError, match="cluster_id"):
        AggregatedAnomalyScore("t", 0.5, node_id="n")


def test_aggregated_score_validates_fields() -> None:
    with pytest.raises(ValidationError, match="aggregate_score"):
        AggregatedAnomalyScore("t", 1.2)
    with pytest.raises(ValidationError, match="num_metrics_analyzed"):
        AggregatedAnomalyScore("t", 0.2, num_metrics_analyzed=-1)


def test_aggregated_score_top_contributors_sorted_by_share() -> None:
    score = AggregatedAnomalyScore(
        "t",
        0.9,
        cluster_id="c",
        node_id="n",
        contributors=(
            ScoreContribution("disk_io", 0.2, share=0.1),
            ScoreContribution("cpu_usage", 0.9, share=0.9),
        ),
    )
    assert [c.component for c in score.top_contributors(1)] == ["cpu_usage"]


def test_series_key_is_a_tuple_that_cannot_collide() -> None:
    assert SeriesKey("a_b", "c", "n", "m") != SeriesKey("a", "b_c", "n", "m")
    assert str(SeriesKey("t", "c", "n", "m")) == "t/c/n/m"
