"""Fleet calibration: scores mapped so every metric reaches each level equally often."""

from __future__ import annotations

import numpy as np
import pytest

from backend.detection.fleet_calibration import (
    LEVELS,
    FleetCalibration,
    calibrate_batch,
)
from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries
from backend.errors import ValidationError

POINT_UP = STATISTIC_NAMES.index("point_up")
SLOW_SHIFT = STATISTIC_NAMES.index("slow_shift")
DAY_NS = 86_400 * 10**9


def _raw(rng: np.random.Generator, n: int, decades_per_unit: float) -> np.ndarray:
    """Scores whose exceedance rate falls ``decades_per_unit`` decades per unit of score."""
    return np.clip(-np.log10(rng.random(n)) / decades_per_unit, 0.0, 1.0)


def _scored(raw: np.ndarray, statistic: np.ndarray | None = None, step_ns: int = 300 * 10**9):
    n = raw.size
    stat = np.full(n, POINT_UP, dtype=np.float64) if statistic is None else statistic
    zeros = np.zeros(n)
    return ScoredSeries(
        np.arange(n, dtype=np.int64) * step_ns,
        zeros,
        raw.copy(),
        raw.copy(),
        zeros,
        zeros,
        zeros,
        zeros,
        zeros,
        stat,
    )


def _two_metrics(rng: np.random.Generator) -> FleetCalibration:
    calibration = FleetCalibration()
    statistic = np.full(400_000, POINT_UP)
    calibration.observe("disk_io", _raw(rng, 400_000, 5.0), statistic)  # heavy: runs high
    calibration.observe("latency", _raw(rng, 400_000, 9.0), statistic)  # light: runs low
    return calibration


def test_a_tenant_of_one_metric_keeps_its_scores() -> None:
    rng = np.random.default_rng(0)
    calibration = FleetCalibration()
    raw = _raw(rng, 200_000, 6.0)
    calibration.observe("cpu_usage", raw, np.full(raw.size, POINT_UP))
    scores = np.linspace(0.0, 1.0, 101)
    mapped = calibration.renormalise("cpu_usage", scores, np.full(101, POINT_UP))
    np.testing.assert_allclose(mapped, scores, atol=1e-6)


def test_a_metric_whose_scores_run_high_is_lowered_and_one_that_runs_low_raised() -> None:
    calibration = _two_metrics(np.random.default_rng(1))
    stat = np.array([POINT_UP])
    assert calibration.renormalise("disk_io", np.array([0.5]), stat)[0] < 0.48
    assert calibration.renormalise("latency", np.array([0.5]), stat)[0] > 0.52


def test_after_mapping_both_metrics_reach_a_level_about_equally_often() -> None:
    rng = np.random.default_rng(2)
    calibration = _two_metrics(rng)
    statistic = np.full(400_000, POINT_UP)
    rates = []
    for group, slope in (("disk_io", 5.0), ("latency", 9.0)):
        fresh = _raw(rng, 400_000, slope)  # new scores of the same kind
        mapped = calibration.renormalise(group, fresh, statistic)
        rates.append((mapped >= 0.4).mean())
    before = [10 ** (-5.0 * 0.4), 10 ** (-9.0 * 0.4)]
    assert before[0] / before[1] > 30  # the metrics differed forty-fold
    assert 1 / 3 < rates[0] / rates[1] < 3


def test_only_calibrated_statistics_are_mapped_and_quiet_points_stay_quiet() -> None:
    calibration = _two_metrics(np.random.default_rng(3))
    scores = np.array([0.0, 0.52, 0.52, 0.52])
    statistic = np.array([POINT_UP, SLOW_SHIFT, -1, POINT_UP])
    mapped = calibration.renormalise("disk_io", scores, statistic)
    assert mapped[0] == 0.0
    assert mapped[1] == 0.52 and mapped[2] == 0.52  # a drift alarm keeps its score
    assert mapped[3] < 0.52


def test_the_map_keeps_the_order_of_scores() -> None:
    calibration = _two_metrics(np.random.default_rng(4))
    scores = np.linspace(0.0, 1.0, 501)
    for group in ("disk_io", "latency", "unseen"):
        mapped = calibration.renormalise(group, scores, np.full(scores.size, POINT_UP))
        assert (np.diff(mapped) >= 0).all()
        assert mapped.min() >= 0.0 and mapped.max() <= 1.0


def test_a_batch_is_mapped_with_what_came_before_each_chunk_only() -> None:
    rng = np.random.default_rng(5)
    n = 288 * 6  # six days of 5-minute points
    disk, latency = _raw(rng, n, 5.0), _raw(rng, n, 9.0)
    first = calibrate_batch(
        FleetCalibration(), [("disk_io", _scored(disk)), ("lat", _scored(latency))]
    )
    changed = disk.copy()
    changed[288 * 4 :] = 1.0  # the last two days differ
    second = calibrate_batch(
        FleetCalibration(), [("disk_io", _scored(changed)), ("lat", _scored(latency))]
    )
    early = slice(0, 288 * 4)
    np.testing.assert_array_equal(first[0].scores[early], second[0].scores[early])
    np.testing.assert_array_equal(first[1].scores[early], second[1].scores[early])
    # the first six hours have no history: they keep their own scores
    np.testing.assert_array_equal(first[0].scores[:72], disk[:72])
    assert (first[0].scores[72:144] != disk[72:144]).any()  # the next six hours are mapped
    # and the later days of the heavy metric come out lower than they went in
    assert (first[0].scores[288:] <= disk[288:] + 1e-12).mean() > 0.95


def test_calibration_round_trips_through_bytes() -> None:
    calibration = _two_metrics(np.random.default_rng(6))
    restored = FleetCalibration.from_bytes(calibration.to_bytes())
    scores = np.linspace(0.0, 1.0, 41)
    stat = np.full(scores.size, POINT_UP)
    for group in ("disk_io", "latency"):
        np.testing.assert_allclose(
            restored.renormalise(group, scores, stat), calibration.renormalise(group, scores, stat)
        )
    assert restored.groups["disk_io"].exceed.shape == LEVELS.shape


@pytest.mark.parametrize("data", [b"not json", b'{"format": 99}', b"[]"])
def test_unreadable_calibration_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(ValidationError, match="fleet_calibration"):
        FleetCalibration.from_bytes(data)
