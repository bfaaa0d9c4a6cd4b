"""Helpers shared by engines: counters, gaps, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from backend.analytics.engine_support import (
    Z_CAP,
    as_rates,
    calibrate,
    is_counter,
    missing_before,
    reject_unknown_settings,
)
from backend.analytics.types import MetricSeries
from backend.errors import ConfigError

MINUTE_NS = 60 * 10**9


def _series(name: str, metadata: dict[str, object] | None = None) -> MetricSeries:
    t = np.arange(3, dtype=np.int64) * MINUTE_NS
    return MetricSeries.from_arrays(("t", "c", "n", name), t, np.arange(3.0), metadata)


def test_is_counter_by_name_suffix_or_metadata() -> None:
    assert is_counter(_series("http_requests_total"))
    assert is_counter(_series("bytes", {"metric_type": "counter"}))
    assert not is_counter(_series("cpu_usage"))
    assert not is_counter(_series("queue_length", {"type": "gauge"}))


def test_as_rates_per_second_with_reset() -> None:
    t = np.array([0, 60, 120, 240], dtype=np.int64) * 10**9
    rates = as_rates(t, np.array([100.0, 160.0, 280.0, 40.0]))
    assert rates.tolist() == [1.0, 1.0, 2.0, 40.0 / 120.0]


def test_missing_before_counts_skipped_steps() -> None:
    t = np.array([0, 1, 2, 5, 6, 16], dtype=np.int64) * MINUTE_NS
    assert missing_before(t).tolist() == [0, 0, 0, 2, 0, 9]


def test_calibrate_makes_training_scores_half_normal() -> None:
    rng = np.random.default_rng(0)
    raw = rng.exponential(2.0, 5000)  # skewed, not normal at all
    z = calibrate(raw, 4000)
    assert abs(np.median(z[:4000]) - 0.674) < 0.01  # median of |N(0, 1)|
    assert abs(np.mean(z[4000:] > 1.96) - 0.05) < 0.02  # fresh data keeps the same tail


def test_calibrate_is_monotone_and_bounded_beyond_training() -> None:
    raw = np.r_[np.linspace(0.0, 1.0, 200), [2.0, 10.0, 1e300]]
    z = calibrate(raw, 200)
    assert np.all(np.diff(z) >= 0)
    assert z[-1] == Z_CAP and np.isfinite(z).all()


def test_reject_unknown_settings_names_the_key_and_the_closest_one() -> None:
    reject_unknown_settings({"window_size": 5}, {"window_size", "stride"}, "the toy engine")
    with pytest.raises(ConfigError, match=r"windw_size.*toy engine; did you mean 'window_size'"):
        reject_unknown_settings({"windw_size": 5}, {"window_size", "stride"}, "the toy engine")
    with pytest.raises(ConfigError) as caught:
        reject_unknown_settings({"zzz": 1}, {"window_size"}, "the toy engine", prefix="a.")
    assert caught.value.field == "a.zzz" and "did you mean" not in str(caught.value)
