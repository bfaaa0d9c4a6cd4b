"""MetricValidator: every documented check, the messages it gives, and its speed."""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
import pytest

from backend.analytics.types import MetricSeries, SeriesKey
from backend.ingestion.results import Severity
from backend.ingestion.validator import MetricValidator

NS = 1_000_000_000
MINUTE_NS = 60 * NS
KEY = SeriesKey("acme", "prod", "node-1", "cpu_usage")
NOW_NS = 1_704_067_200 * NS  # 2024-01-01T00:00:00Z


def fixed_clock() -> int:
    return NOW_NS


def validator(**kwargs: object) -> MetricValidator:
    return MetricValidator(clock=fixed_clock, **kwargs)


def minutes(n: int, start_ns: int = NOW_NS - 10_000 * MINUTE_NS) -> np.ndarray:
    return start_ns + np.arange(n, dtype=np.int64) * MINUTE_NS


def series(values: list[float], metric: str = "cpu_usage", **metadata: object) -> MetricSeries:
    key = SeriesKey("acme", "prod", "node-1", metric)
    return MetricSeries.from_arrays(key, minutes(len(values)), np.array(values), metadata)


def test_validate_accepts_clean_series() -> None:
    result = validator().validate(series([10.0, 20.0, 30.0]))

    assert result.is_valid
    assert result.errors == []
    assert result.warnings == []


def test_validate_empty_series_rejected_by_default() -> None:
    result = validator().validate(series([]))

    assert not result.is_valid
    assert "no points" in result.errors[0]
    assert "acme/prod/node-1/cpu_usage" in result.errors[0]


def test_validate_empty_series_accepted_when_allowed() -> None:
    assert validator(allow_empty=True).validate(series([])).is_valid


def test_validate_arrays_nan_names_index_and_count() -> None:
    values = np.array([1.0, 2.0, np.nan, 4.0, np.inf])

    result = validator().validate_arrays(KEY, minutes(5), values)

    assert not result.is_valid
    issue = result.issues[0]
    assert (issue.series, issue.field, issue.count) == (str(KEY), "values[2]", 2)
    assert "finite" in issue.reason
    assert "values[2]=nan" in result.errors[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [("tenant_id", ""), ("cluster_id", "   "), ("node_id", 7), ("metric_name", "a\nb")],
)
def test_validate_arrays_bad_identifier_named(field: str, value: object) -> None:
    key = KEY._replace(**{field: value})

    result = validator().validate_arrays(key, minutes(2), np.array([1.0, 2.0]))

    assert not result.is_valid
    assert result.issues[0].field == field


def test_validate_arrays_duplicate_timestamp_rejected() -> None:
    ts = minutes(4)
    ts[2] = ts[1]

    result = validator().validate_arrays(KEY, ts, np.ones(4))

    assert not result.is_valid
    assert result.issues[0].field == "timestamps[2]"
    assert "duplicate" in result.issues[0].reason


def test_validate_arrays_unsorted_rejected_when_sorted_required() -> None:
    ts = minutes(4)[[0, 2, 1, 3]]

    result = validator().validate_arrays(KEY, ts, np.ones(4))

    assert not result.is_valid
    assert result.issues[0].field == "timestamps[2]"
    assert "strictly increasing" in result.issues[0].reason


def test_validate_arrays_unsorted_accepted_when_not_required() -> None:
    ts = minutes(4)[[0, 2, 1, 3]]

    assert validator(require_sorted=False).validate_arrays(KEY, ts, np.ones(4)).is_valid


def test_validate_arrays_duplicate_rejected_even_when_unsorted_allowed() -> None:
    ts = minutes(4)[[3, 1, 0, 1]]

    result = validator(require_sorted=False).validate_arrays(KEY, ts, np.ones(4))

    assert not result.is_valid
    assert result.issues[0].field == "timestamps[3]"


def test_validate_large_gap_is_warning_by_default() -> None:
    ts = minutes(5)
    ts[3:] += 10 * MINUTE_NS

    result = validator().validate_arrays(KEY, ts, np.ones(5))

    assert result.is_valid
    assert len(result.warnings) == 1
    assert result.issues[0].severity is Severity.WARNING
    assert result.issues[0].field == "timestamps[3]"
    assert "660 s" in result.issues[0].reason


def test_validate_large_gap_is_error_when_configured() -> None:
    ts = minutes(5)
    ts[3:] += 10 * MINUTE_NS

    result = validator(gap_is_error=True).validate_arrays(KEY, ts, np.ones(5))

    assert not result.is_valid
    assert "max_gap_seconds=300" in result.errors[0]


def test_validate_gap_check_disabled_with_none() -> None:
    ts = minutes(3) * 2

    result = validator(max_gap_seconds=None, max_future_seconds=None).validate_arrays(
        KEY, ts, np.ones(3)
    )

    assert result.is_valid
    assert result.warnings == []


@pytest.mark.parametrize(
    ("metric", "bad", "good"),
    [
        ("cpu_usage", 100.5, 100.0),
        ("memory_used", -0.1, 0.0),
        ("disk_busy_percent", 101.0, 55.0),
        ("gpu_utilization", -1.0, 1.0),
        ("latency_ms", -3.0, 3.0),
        ("network_in", -1.0, 0.0),
        ("request_count", -1.0, 2.0),
        ("error_rate", 100.5, 99.0),
    ],
)
def test_validate_value_bounds_by_metric_name(metric: str, bad: float, good: float) -> None:
    v = validator()

    rejected = v.validate(series([good, bad, good], metric=metric))

    assert v.validate(series([good, good], metric=metric)).is_valid
    assert not rejected.is_valid
    assert rejected.issues[0].field == "values[1]"
    assert rejected.issues[0].value == bad


def test_validate_unit_from_metadata_wins_over_name() -> None:
    v = validator()

    as_ratio = v.validate(series([0.5, 2.0], metric="error_rate", unit="ratio"))
    as_percent = v.validate(series([0.5, 2.0], metric="error_rate", unit="percent"))

    assert not as_ratio.is_valid
    assert "in [0, 1]" in as_ratio.errors[0]
    assert as_percent.is_valid


def test_validate_unknown_metric_has_no_bounds() -> None:
    assert validator().validate(series([-40.0, 1e9], metric="temperature")).is_valid


def test_validate_bounds_override_and_switch_off() -> None:
    values = [5.0, 50.0]

    overridden = validator(bounds={"temperature": (0.0, 10.0)}).validate(
        series(values, metric="temperature")
    )
    unchecked = validator(check_bounds=False).validate(series([500.0], metric="cpu_usage"))

    assert not overridden.is_valid
    assert unchecked.is_valid


def test_validate_future_timestamps_rejected() -> None:
    ts = np.array([NOW_NS, NOW_NS + 2 * 3600 * NS])

    result = validator(max_future_seconds=3600).validate_arrays(KEY, ts, np.ones(2))

    assert not result.is_valid
    assert result.issues[0].field == "timestamps[1]"
    assert result.issues[0].value == datetime(2024, 1, 1, 2, 0)


def test_validate_size_limit() -> None:
    result = validator(max_points=3).validate_arrays(KEY, minutes(4), np.ones(4))

    assert not result.is_valid
    assert "max_points=3" in result.errors[0]


def test_validate_arrays_length_mismatch_named() -> None:
    result = validator().validate_arrays(KEY, minutes(3), np.ones(2))

    assert not result.is_valid
    assert result.issues[0].field == "values"


def test_validate_arrays_non_numeric_values_named() -> None:
    result = validator().validate_arrays(KEY, minutes(2), ["1", "abc"])

    assert not result.is_valid
    assert "not numeric" in result.errors[0]


def test_validate_arrays_rows_and_origin_locate_issue() -> None:
    values = np.array([1.0, np.nan, 3.0])

    result = validator().validate_arrays(
        KEY, minutes(3), values, rows=np.array([7, 9, 12]), origin="m.csv"
    )

    assert result.issues[0].location == "m.csv row 9"
    assert result.errors[0].endswith("[m.csv row 9]")


def test_validate_issue_raises_series_validation_error() -> None:
    result = validator().validate(series([200.0]))

    with pytest.raises(ValueError, match=r"values\[0\]=200.0"):
        result.raise_for_errors()


def test_validate_batch_splits_valid_and_invalid() -> None:
    good, bad = series([1.0, 2.0]), series([1.0, 200.0])

    valid, invalid, errors = validator().validate_batch([good, bad, good])

    assert valid == [good, good]
    assert invalid == [bad]
    assert len(errors) == 1


def test_validate_batch_warnings_do_not_invalidate() -> None:
    gappy = MetricSeries.from_arrays(KEY, np.array([0, 3600]) * NS + NOW_NS, np.ones(2))

    valid, invalid, errors = validator().validate_batch([gappy])

    assert (valid, invalid, errors) == ([gappy], [], [])


@pytest.mark.slow
def test_validate_batch_speed_1000_series_of_10080_points() -> None:
    rng = np.random.default_rng(0)
    batch = [
        MetricSeries.from_arrays(
            KEY._replace(node_id=f"n{i}"), minutes(10_080), rng.uniform(0, 100, 10_080)
        )
        for i in range(1000)
    ]
    v = validator()

    start = time.perf_counter()
    valid, invalid, _ = v.validate_batch(batch)
    elapsed = time.perf_counter() - start

    assert (len(valid), len(invalid)) == (1000, 0)
    assert elapsed < 1.0, f"validate_batch took {elapsed:.3f} s"
