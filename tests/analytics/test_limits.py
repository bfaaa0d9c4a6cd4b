"""Static metric limits: parsing, the streaming breach mask, and merging breaches into results."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from backend.analytics.config import DetectionConfig
from backend.analytics.config_loading import config_from_env, config_from_file
from backend.analytics.limits import (
    MetricLimit,
    apply_limit,
    breach_mask,
    breach_runs,
    limit_point_scores,
    parse_limits,
)
from backend.analytics.types import AnomalyResult, MetricSeries, SeriesKey
from backend.errors import ConfigError, ValidationError

KEY = SeriesKey("t1", "c1", "n1", "error_rate")
T0 = datetime(2024, 1, 1)
MINUTE_NS = 60 * 10**9
START_NS = 1_704_067_200 * 10**9


def _series(values: list[float] | np.ndarray, unit: str | None = "percent") -> MetricSeries:
    x = np.asarray(values, dtype=np.float64)
    ts = START_NS + np.arange(x.shape[0], dtype=np.int64) * MINUTE_NS
    metadata = {"unit": unit} if unit else {}
    return MetricSeries.from_arrays(KEY, ts, x, metadata=metadata)


def _anomaly(
    start: int, end: int, score: float = 0.6, text: str | None = "a spike"
) -> AnomalyResult:
    return AnomalyResult(
        *KEY,
        window_start=T0 + timedelta(minutes=start),
        window_end=T0 + timedelta(minutes=end),
        anomaly_score=score,
        anomaly_label="spike",
        explanation=text,
        anomaly_kind="spike",
    )


# --- the limit itself ------------------------------------------------------------------------
def test_metric_limit_needs_a_bound() -> None:
    with pytest.raises(ConfigError, match="needs 'above', 'below' or both"):
        MetricLimit()


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"above": "high"}, "metric_limits['error_rate'].above"),
        ({"above": float("inf")}, "metric_limits['error_rate'].above"),
        ({"above": 1.0, "below": 2.0}, "metric_limits['error_rate'].below"),
        ({"above": 1.0, "for_points": 0}, "metric_limits['error_rate'].for_points"),
        ({"above": 1.0, "for_points": 2.5}, "metric_limits['error_rate'].for_points"),
        ({"above": 1.0, "severity": "page"}, "metric_limits['error_rate'].severity"),
        ({"above": 1.0, "for_seconds": -1}, "metric_limits['error_rate'].for_seconds"),
        ({"above": 1.0, "for_seconds": "5m"}, "metric_limits['error_rate'].for_seconds"),
        ({"abov": 1.0}, "metric_limits['error_rate'].abov"),
        (
            {"above": 1.0, "keep_firing_seconds": -5},
            "metric_limits['error_rate'].keep_firing_seconds",
        ),
        (
            {"above": 1.0, "keep_firing_seconds": "5m"},
            "metric_limits['error_rate'].keep_firing_seconds",
        ),
    ],
)
def test_parse_limits_names_the_bad_field(entry: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_limits({"error_rate": entry})
    assert caught.value.field == field


def test_parse_limits_suggests_the_setting_meant() -> None:
    with pytest.raises(ConfigError, match="did you mean 'above'"):
        parse_limits({"error_rate": {"abov": 1.0}})


def test_parse_limits_refuses_a_bare_number() -> None:
    with pytest.raises(ConfigError, match="must be a table"):
        parse_limits({"error_rate": 5.0})


def test_describe_names_the_bounds_with_the_unit() -> None:
    assert MetricLimit(above=5).describe("percent") == "at most 5.0 %"
    assert MetricLimit(below=2e9).describe("bytes") == "at least 2.0 G bytes"
    assert MetricLimit(below=1, above=9).describe() == "within 1.0 to 9.0"


# --- the breach mask -------------------------------------------------------------------------
def test_breach_mask_is_strict_and_two_sided() -> None:
    x = np.array([5.0, 5.1, 0.9, 1.0, 3.0])
    assert breach_mask(x, MetricLimit(above=5.0, below=1.0)).tolist() == [
        False, True, True, False, False,
    ]  # fmt: skip


def test_breach_mask_waits_for_points_and_nan_ends_a_run() -> None:
    x = np.array([9.0, 9.0, 9.0, np.nan, 9.0, 9.0, 9.0, 9.0])
    mask = breach_mask(x, MetricLimit(above=5.0, for_points=3))
    assert mask.tolist() == [False, False, True, False, False, False, True, True]


def test_breach_mask_uses_no_later_points() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(5.0, 2.0, 500)
    limit = MetricLimit(above=6.0, below=2.0, for_points=2)
    whole = breach_mask(x, limit)
    for cut in (1, 17, 250, 499):
        assert np.array_equal(breach_mask(x[:cut], limit), whole[:cut])


def test_breach_runs_are_inclusive_pairs() -> None:
    mask = np.array([True, True, False, False, True, False, True])
    assert breach_runs(mask) == [(0, 1), (4, 4), (6, 6)]
    assert breach_runs(np.zeros(4, dtype=bool)) == []


def test_limit_point_scores_raise_only_breaching_points() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.95])
    raised = limit_point_scores(_series([1.0, 7.0, 2.0, 8.0]), scores, MetricLimit(above=5.0), 0.8)
    assert raised.tolist() == [0.1, 0.8, 0.3, 0.95]
    assert scores.tolist() == [0.1, 0.2, 0.3, 0.95]  # the input is left alone


def test_breach_mask_waits_for_seconds_on_irregular_sampling() -> None:
    seconds = np.array([0, 60, 90, 250, 310, 400, 460])
    x = np.array([9.0, 9.0, 9.0, 9.0, 1.0, 9.0, 9.0])
    limit = MetricLimit(above=5.0, for_seconds=240)
    mask = breach_mask(x, limit, seconds * 10**9)
    assert mask.tolist() == [False, False, False, True, False, False, False]


def test_breach_mask_needs_both_points_and_seconds() -> None:
    minutes = np.arange(5, dtype=np.int64) * 60 * 10**9
    limit = MetricLimit(above=5.0, for_points=4, for_seconds=60)
    assert breach_mask(np.full(5, 9.0), limit, minutes).tolist() == [
        False, False, False, True, True,
    ]  # fmt: skip


def test_breach_mask_for_seconds_without_timestamps_is_refused() -> None:
    with pytest.raises(ValidationError, match="timestamps_ns"):
        breach_mask(np.full(3, 9.0), MetricLimit(above=5.0, for_seconds=60))


def test_breach_mask_for_seconds_uses_no_later_points() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(5.0, 2.0, 400)
    ts = np.cumsum(rng.integers(30, 90, 400)) * 10**9
    limit = MetricLimit(above=5.5, for_seconds=120)
    whole = breach_mask(x, limit, ts)
    assert whole.any()
    for cut in (1, 33, 200, 399):
        assert np.array_equal(breach_mask(x[:cut], limit, ts[:cut]), whole[:cut])


# --- keep firing: one alarm for a metric flapping around its limit ---------------------------
FLAPPING = [1.0, 6.0, 6.0, 4.0, 6.0, 4.0, 4.0, 6.0, 1.0, 1.0, 1.0, 1.0, 6.0, 1.0]


def test_breach_mask_keeps_firing_through_short_returns() -> None:
    ts = START_NS + np.arange(len(FLAPPING), dtype=np.int64) * MINUTE_NS
    waits = MetricLimit(above=5.0, for_points=2)
    assert np.flatnonzero(breach_mask(FLAPPING, waits, ts)).tolist() == [2]
    kept = MetricLimit(above=5.0, for_points=2, keep_firing_seconds=180)
    # still firing when it crosses again within 3 min: no new wait; the crossing 5 min
    # after the last one is a new breach, which must wait again
    assert np.flatnonzero(breach_mask(FLAPPING, kept, ts)).tolist() == [2, 4, 7]


def test_breach_mask_keep_firing_uses_no_later_points() -> None:
    ts = START_NS + np.arange(len(FLAPPING), dtype=np.int64) * MINUTE_NS
    limit = MetricLimit(above=5.0, keep_firing_seconds=120)
    whole = breach_mask(FLAPPING, limit, ts)
    for cut in range(1, len(FLAPPING)):
        assert np.array_equal(breach_mask(FLAPPING[:cut], limit, ts[:cut]), whole[:cut])


def test_breach_mask_keep_firing_without_timestamps_is_refused() -> None:
    with pytest.raises(ValidationError, match="keep_firing_seconds"):
        breach_mask(FLAPPING, MetricLimit(above=5.0, keep_firing_seconds=60))


def test_apply_limit_reports_a_flapping_breach_once_when_it_keeps_firing() -> None:
    series = _series(FLAPPING)
    apart = apply_limit(series, [], MetricLimit(above=5.0), 0.8)
    assert [(r.window_start.minute, r.window_end.minute) for r in apart] == [
        (1, 2), (4, 4), (7, 7), (12, 12)
    ]  # fmt: skip
    kept = apply_limit(series, [], MetricLimit(above=5.0, keep_firing_seconds=180), 0.8)
    assert [(r.window_start.minute, r.window_end.minute) for r in kept] == [(1, 7), (12, 12)]
    assert kept[0].explanation == (
        "error_rate on n1 rose to 6.0 % for 6 min, beyond its limit (at most 5.0 %)"
    )
    assert kept[0].engine_metadata["limit"]["keep_firing_seconds"] == 180.0


# --- breaches merged into results ------------------------------------------------------------
def test_apply_limit_adds_a_breach_the_engine_missed() -> None:
    values = [1.0] * 20
    values[8:14] = [7.5] * 6
    out = apply_limit(_series(values), [], MetricLimit(above=5.0), 0.8)
    assert len(out) == 1
    found = out[0]
    assert (found.window_start, found.window_end) == (
        T0 + timedelta(minutes=8),
        T0 + timedelta(minutes=13),
    )
    assert found.anomaly_score == 0.8 and found.anomaly_kind == "level_shift"
    assert found.explanation == (
        "error_rate on n1 rose to 7.5 % for 5 min, beyond its limit (at most 5.0 %)"
    )
    assert found.engine_metadata["limit"]["worst"] == 7.5


def test_apply_limit_tells_a_short_low_breach_as_a_dip() -> None:
    values = [50.0] * 10
    values[4] = 3.0
    out = apply_limit(_series(values, unit=None), [], MetricLimit(below=10.0), 0.5)
    assert [r.anomaly_kind for r in out] == ["dip"]
    assert out[0].explanation == "error_rate on n1 fell to 3.0, beyond its limit (at least 10.0)"


def test_apply_limit_raises_an_overlapping_anomaly_and_keeps_its_kind() -> None:
    values = [1.0] * 20
    values[10] = 9.0
    engine_says = [_anomaly(9, 11, score=0.55)]
    out = apply_limit(_series(values), engine_says, MetricLimit(above=5.0), 0.8)
    assert len(out) == 1
    assert out[0].anomaly_score == 0.8 and out[0].anomaly_kind == "spike"
    assert out[0].explanation == "a spike; 9.0 % breaks its limit (at most 5.0 %)"


def test_apply_limit_keeps_a_higher_engine_score() -> None:
    values = [1.0] * 20
    values[10] = 9.0
    out = apply_limit(_series(values), [_anomaly(10, 10, score=0.97)], MetricLimit(above=5.0), 0.8)
    assert [r.anomaly_score for r in out] == [0.97]


def test_apply_limit_reports_the_stretch_no_anomaly_covers() -> None:
    values = [1.0] * 30
    values[10:25] = [8.0] * 15
    out = apply_limit(_series(values), [_anomaly(10, 12)], MetricLimit(above=5.0), 0.8)
    windows = [(r.window_start.minute, r.window_end.minute) for r in out]
    assert windows == [(10, 12), (13, 24)]


def _normal(start: int, end: int) -> AnomalyResult:
    return AnomalyResult(
        *KEY,
        window_start=T0 + timedelta(minutes=start),
        window_end=T0 + timedelta(minutes=end),
        anomaly_score=0.1,
        anomaly_label="normal",
    )


def test_apply_limit_cuts_a_normal_window_around_the_breach() -> None:
    values = [1.0] * 30
    values[10:14] = [8.0] * 4
    out = apply_limit(
        _series(values), [_normal(0, 19), _normal(20, 29)], MetricLimit(above=5.0), 0.8
    )
    windows = [(r.window_start.minute, r.window_end.minute, r.is_anomaly) for r in out]
    assert windows == [(0, 9, False), (10, 13, True), (14, 19, False), (20, 29, False)]


def test_apply_limit_drops_a_normal_window_that_breaches_throughout() -> None:
    values = [1.0] * 10
    values[3:7] = [8.0] * 4
    out = apply_limit(_series(values), [_normal(4, 5)], MetricLimit(above=5.0), 0.8)
    assert [(r.window_start.minute, r.window_end.minute, r.is_anomaly) for r in out] == [
        (3, 6, True)
    ]


def test_apply_limit_leaves_results_alone_without_a_breach() -> None:
    results = [_anomaly(3, 4)]
    assert apply_limit(_series([1.0] * 10), results, MetricLimit(above=5.0), 0.8) == results


def test_apply_limit_counts_earlier_time_towards_for_seconds() -> None:
    limit = MetricLimit(above=5.0, for_seconds=240)  # the fifth minute of a breach
    values = [1.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0]
    out = apply_limit(_series(values), [], limit, 0.8, first=3)
    # first alarm at minute 5, in this run: reported from the breach's first point
    assert [(r.window_start.minute, r.window_end.minute) for r in out] == [(1, 8)]
    assert out[0].explanation is not None and "for 7 min" in out[0].explanation


def test_apply_limit_counts_earlier_points_towards_for_points() -> None:
    values = [9.0] * 6
    limit = MetricLimit(above=5.0, for_points=3)
    # points 0-3 were judged by an earlier run; the breach is already 4 points long at 4
    out = apply_limit(_series(values), [], limit, 0.8, first=4)
    assert [(r.window_start.minute, r.window_end.minute) for r in out] == [(4, 5)]


# --- the configuration -----------------------------------------------------------------------
def test_config_matches_limits_like_thresholds() -> None:
    config = DetectionConfig(
        metric_limits={"error_rate": {"above": 5.0}, "error*": {"above": 50.0}}
    )
    assert config.get_limit_for_metric("error_rate").above == 5.0  # type: ignore[union-attr]
    assert config.get_limit_for_metric("error_count").above == 50.0  # type: ignore[union-attr]
    assert config.get_limit_for_metric("cpu_usage") is None


def test_breach_rule_scores_by_severity() -> None:
    config = DetectionConfig(
        anomaly_score_threshold=0.45, critical_threshold=0.85,
        metric_thresholds={"disk*": 0.6},
        metric_limits={"disk_free": {"above": 1.0}, "disk*": {"above": 1.0, "severity": "warning"},
                       "cpu*": {"above": 1.0, "severity": "warning"}},
    )  # fmt: skip
    assert config.breach_rule("disk_free", calibrated=True) == (MetricLimit(above=1.0), 0.85)
    assert config.breach_rule("disk_used", calibrated=True)[1] == 0.6  # type: ignore[index]
    assert config.breach_rule("cpu_usage", calibrated=True)[1] == 0.45  # type: ignore[index]
    assert config.breach_rule("cpu_usage", calibrated=False)[1] == 0.5  # type: ignore[index]
    assert config.breach_rule("memory_used", calibrated=True) is None


def test_limits_load_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "detection.toml"
    path.write_text(
        "[detection.metric_limits.error_rate]\nabove = 5\nfor_points = 2\n"
        '[detection.metric_limits."disk_free*"]\nbelow = 2e9\nseverity = "warning"\n'
    )
    config = config_from_file(path)
    assert config.metric_limits["error_rate"] == MetricLimit(above=5.0, for_points=2)
    assert config.metric_limits["disk_free*"].severity == "warning"


def test_limits_load_from_the_environment() -> None:
    env = {"ABOUTCLOUD_DETECTION__METRIC_LIMITS": '{"latency_ms": {"above": 900}}'}
    assert config_from_env(env).metric_limits == {"latency_ms": MetricLimit(above=900.0)}


def test_a_bad_limit_in_a_file_names_the_field_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "detection.toml"
    path.write_text("[detection.metric_limits.error_rate]\nabove = 5\nbelow = 9\n")
    with pytest.raises(
        ConfigError, match=r"below=9.*must not exceed above \(5.0\).*detection.toml"
    ):
        config_from_file(path)
