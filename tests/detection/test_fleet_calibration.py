"""Fleet calibration: scores mapped so every metric reaches each level equally often."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.detection.fleet_calibration import (
    LEVELS,
    QUIET_POINTS,
    FleetCalibration,
    ScoreTally,
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


def _scored(
    raw: np.ndarray,
    statistic: np.ndarray | None = None,
    step_ns: int = 300 * 10**9,
    z: np.ndarray | None = None,
):
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
        zeros if z is None else z,
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
    assert restored.groups["disk_io"].onsets.shape == LEVELS.shape


@pytest.mark.parametrize("data", [b"not json", b'{"format": 99}', b"[]"])
def test_unreadable_calibration_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(ValidationError, match="fleet_calibration"):
        FleetCalibration.from_bytes(data)


def _light_fleet(rng: np.random.Generator, n_series: int, n: int = 288 * 4):
    """Series of Gaussian residuals whose own (loose) tails score a residual z at |z| / 32:
    a spike of 8 scales scores only 0.25 on its own."""
    batch = []
    for _ in range(n_series):
        z = rng.standard_normal(n)
        batch.append(("cpu_usage", _scored(np.clip(np.abs(z) / 32.0, 0.0, 1.0), z=z)))
    return batch


def test_in_a_fleet_a_residual_rare_across_the_metric_alarms() -> None:
    rng = np.random.default_rng(7)
    batch = _light_fleet(rng, 20)
    spiked = batch[0][1]
    spiked.z[-10] = 8.0  # a spike of 8 scales on the last day
    spiked.raw_scores[-10] = spiked.scores[-10] = 0.25
    out = calibrate_batch(FleetCalibration(), batch)
    assert out[0].scores[-10] > 0.5
    assert out[0].statistic[-10] == POINT_UP
    assert out[0].raw_scores[-10] > 0.5
    # ordinary residuals stay quiet: the pooled tail is the metric's own
    quiet = np.concatenate([o.scores[288:] for o in out[1:]])
    assert (quiet >= 0.5).mean() < 1e-3


def test_a_single_series_keeps_its_own_tail() -> None:
    rng = np.random.default_rng(8)
    (only,) = _light_fleet(rng, 1, n=288 * 80)  # many points, but no fleet
    only[1].z[-10] = 8.0
    only[1].raw_scores[-10] = only[1].scores[-10] = 0.25
    calibration = FleetCalibration()
    out = calibrate_batch(calibration, [only])
    assert calibration.residuals["cpu_usage"].points > calibration.residual_min_points
    assert out[0].scores[-10] == pytest.approx(0.25)
    assert out[0].statistic[-10] == POINT_UP


def test_the_pooled_tail_never_lowers_a_score_or_renames_a_louder_statistic() -> None:
    rng = np.random.default_rng(9)
    calibration = FleetCalibration()
    calibrate_batch(calibration, _light_fleet(rng, 20))
    raw = np.array([0.9, 0.05, 0.3])
    statistic = np.array([SLOW_SHIFT, POINT_UP, -1])
    tail = calibration.residual_tails(["cpu_usage"])["cpu_usage"]
    assert tail is not None
    pooled_raw, pooled_scores, pooled_stat = calibration.pool(
        "cpu_usage", raw, raw, statistic, np.array([0.5, 0.2, 9.0]), tail
    )
    np.testing.assert_array_equal(pooled_raw, raw)  # small residuals, or a warm-up point
    np.testing.assert_array_equal(pooled_scores, raw)
    np.testing.assert_array_equal(pooled_stat, statistic)


def _older_document(calibration: FleetCalibration, version: int) -> dict:
    """``calibration`` as a release before format 4 saved it: score tallies of points."""
    body = json.loads(calibration.to_bytes())
    body["format"] = version
    body["groups"] = {
        g: {"points": t["points"], "exceed": t["onsets"]} for g, t in body["groups"].items()
    }
    if version == 1:
        keep = ("format", "prior_points", "design_points", "log_scale", "levels", "groups")
        body = {k: body[k] for k in keep}
    return body


def test_a_calibration_saved_before_the_pooled_tails_still_loads() -> None:
    calibration = _two_metrics(np.random.default_rng(10))
    restored = FleetCalibration.from_bytes(json.dumps(_older_document(calibration, 1)).encode())
    assert restored.residuals == {}
    assert restored.groups == {}  # it counted points, not alarms: learnt anew
    scores = np.linspace(0.0, 1.0, 11)
    stat = np.full(scores.size, POINT_UP)
    np.testing.assert_allclose(restored.renormalise("disk_io", scores, stat), scores)


def test_an_older_calibration_keeps_its_tails_and_learns_its_alarm_counts_anew() -> None:
    rng = np.random.default_rng(12)
    calibration = FleetCalibration()
    calibrate_batch(calibration, _light_fleet(rng, 20))
    assert calibration.groups["cpu_usage"].points > 0
    older = _older_document(calibration, 3)
    restored = FleetCalibration.from_bytes(json.dumps(older).encode())
    assert restored.groups == {}
    assert restored.residuals["cpu_usage"].points == calibration.residuals["cpu_usage"].points
    assert restored.pairs["cpu_usage"].points == calibration.pairs["cpu_usage"].points


def test_alarms_are_counted_once_per_incident_not_once_per_point() -> None:
    held = np.zeros(1_000)
    held[100:160] = 0.8  # one incident held for five hours
    spikes = np.zeros(1_000)
    spikes[100:700:100] = 0.8  # six incidents of one point each
    statistic = np.full(1_000, POINT_UP)
    one, six = FleetCalibration(), FleetCalibration()
    one.observe("cpu_usage", held, statistic)
    six.observe("cpu_usage", spikes, statistic)
    at = int(np.flatnonzero(LEVELS == 0.5)[0])
    assert one.groups["cpu_usage"].onsets[at] == 1
    assert six.groups["cpu_usage"].onsets[at] == 6
    # a point after a quiet hour starts a new alarm; one within the hour does not
    spaced = np.zeros(1_000)
    spaced[[100, 100 + QUIET_POINTS, 100 + 2 * QUIET_POINTS + 1]] = 0.8
    counted = FleetCalibration()
    counted.observe("cpu_usage", spaced, statistic)
    assert counted.groups["cpu_usage"].onsets[at] == 2


def test_a_chunk_continues_the_alarm_its_series_held_before_it() -> None:
    rng = np.random.default_rng(13)
    batch = _light_fleet(rng, 12, n=288)
    for _, scored in batch:  # every series holds 0.8 across the first chunk boundary
        scored.raw_scores[60:84] = scored.scores[60:84] = 0.8
    calibration = FleetCalibration()
    calibrate_batch(calibration, batch)
    at = int(np.flatnonzero(LEVELS == 0.8)[0])
    # each held stretch is one alarm, though it spans two chunks
    assert calibration.groups["cpu_usage"].onsets[at] == 12


def test_the_pooled_tails_round_trip_through_bytes() -> None:
    rng = np.random.default_rng(11)
    calibration = FleetCalibration()
    calibrate_batch(calibration, _light_fleet(rng, 20))
    restored = FleetCalibration.from_bytes(calibration.to_bytes())
    probe = _scored(np.full(3, 0.25), z=np.array([8.0, -8.0, 1.0]))
    np.testing.assert_allclose(
        restored.calibrate("cpu_usage", probe).scores,
        calibration.calibrate("cpu_usage", probe).scores,
    )
    assert calibration.calibrate("cpu_usage", probe).scores[0] > 0.5


def test_a_backfill_counts_the_alarms_each_whole_series_would() -> None:
    """Cut into 6-hour chunks and pooled per group, a backfill counts the same alarms as
    each series counted alone, start to end."""
    rng = np.random.default_rng(14)
    batch = []
    for _ in range(15):
        raw = np.where(rng.random(288 * 3) < 0.03, rng.random(288 * 3), 0.0)
        stat = np.where(rng.random(raw.size) < 0.1, SLOW_SHIFT, POINT_UP).astype(np.float64)
        batch.append(("cpu_usage", _scored(raw, statistic=stat)))
    calibration = FleetCalibration()
    calibrate_batch(calibration, batch)
    alone = ScoreTally()
    for _, scored in batch:
        alone.add(scored.raw_scores, scored.statistic)
    np.testing.assert_allclose(calibration.groups["cpu_usage"].onsets, alone.onsets)
    assert alone.onsets[int(np.flatnonzero(LEVELS == 0.5)[0])] > 20
