"""Runs that go on where the last left each series: a live fleet scored a few new points at
a time counts alarms and pairs as one pass over its whole history would."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from backend.detection.fleet_calibration import (
    LEVELS,
    QUIET_POINTS,
    FleetCalibration,
    SeriesEnd,
    calibrate_batch,
)
from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries
from backend.errors import ValidationError

POINT_UP = STATISTIC_NAMES.index("point_up")
SLOW_SHIFT = STATISTIC_NAMES.index("slow_shift")
DAY = 288  # points at 5-minute steps
SPLIT = 3 * DAY + 72  # a 6-hour chunk boundary: where the first run ends
HELD = slice(SPLIT - 5, SPLIT + 5)  # an alarm held across it
AT_08 = int(np.flatnonzero(LEVELS == 0.8)[0])


def _series(rng: np.random.Generator, n: int = 4 * DAY) -> ScoredSeries:
    z = rng.standard_normal(n)
    z[SPLIT - 1], z[SPLIT] = 7.0, 7.0  # a pair whose two points fall in two runs
    raw = np.clip(np.abs(z) / 32.0, 0.0, 1.0)
    raw[HELD] = 0.8
    stat = np.where(rng.random(n) < 0.05, SLOW_SHIFT, POINT_UP).astype(np.float64)
    zeros = np.zeros(n)
    ts = np.arange(n, dtype=np.int64) * 300 * 10**9
    return ScoredSeries(ts, zeros, raw, raw.copy(), zeros, zeros, zeros, z, zeros, stat)


def _part(scored: ScoredSeries, part: slice) -> ScoredSeries:
    return ScoredSeries(
        *(np.array(getattr(scored, f.name)[part]) for f in scored.__dataclass_fields__.values())
    )


def _fleet(seed: int = 3, n_series: int = 12) -> tuple[list[tuple[str, ScoredSeries]], list[str]]:
    rng = np.random.default_rng(seed)
    batch = [("cpu_usage", _series(rng)) for _ in range(n_series)]
    return batch, [f"t/c/node-{i}/cpu_usage" for i in range(n_series)]


def _in_runs(
    batch: list[tuple[str, ScoredSeries]], keys: list[str] | None, cuts: list[int]
) -> tuple[FleetCalibration, list[np.ndarray]]:
    calibration = FleetCalibration()
    scores: list[list[np.ndarray]] = [[] for _ in batch]
    bounds = [0, *cuts, len(batch[0][1])]
    for lo, hi in itertools.pairwise(bounds):
        run = [(group, _part(scored, slice(lo, hi))) for group, scored in batch]
        for i, out in enumerate(calibrate_batch(calibration, run, keys=keys)):
            scores[i].append(out.scores)
    return calibration, [np.concatenate(s) for s in scores]


def _tallies(calibration: FleetCalibration) -> tuple[list[float], str]:
    return (
        calibration.groups["cpu_usage"].onsets.tolist(),
        json.dumps(calibration.pairs["cpu_usage"].to_json()),
    )


def test_two_runs_with_keys_count_and_score_as_one_pass() -> None:
    batch, keys = _fleet()
    whole, whole_scores = _in_runs(batch, keys, [])
    split, split_scores = _in_runs(batch, keys, [SPLIT])
    assert _tallies(split) == _tallies(whole)
    for a, b in zip(whole_scores, split_scores, strict=True):
        np.testing.assert_array_equal(a, b)
    assert whole.groups["cpu_usage"].onsets[AT_08] == len(batch)  # one alarm per series


def test_without_keys_a_run_starts_each_series_afresh() -> None:
    batch, keys = _fleet()
    whole, _ = _in_runs(batch, keys, [])
    fresh, _ = _in_runs(batch, None, [SPLIT])
    onsets, pairs = _tallies(fresh)
    assert onsets[AT_08] == 2 * len(batch)  # the held alarm counted again after the cut
    assert pairs != _tallies(whole)[1]  # and the pair across it lost
    assert fresh.carried == {}


def test_a_point_at_a_time_counts_the_held_alarm_once_and_keeps_its_pairs() -> None:
    batch, keys = _fleet(n_series=10)
    whole, _ = _in_runs(batch, keys, [])
    ticks = list(range(SPLIT - 8, SPLIT + 8))  # one new point per series per run
    live, _ = _in_runs(batch, keys, ticks)
    onsets, pairs = _tallies(live)
    assert onsets[AT_08] == len(batch)
    assert pairs == _tallies(whole)[1]
    end = live.carried[keys[0]]
    assert end.z == pytest.approx(float(batch[0][1].z[-1]))
    assert end.peaks.shape == (QUIET_POINTS,)


def test_carried_ends_round_trip_through_bytes() -> None:
    batch, keys = _fleet()
    calibration, _ = _in_runs(batch, keys, [SPLIT])
    restored = FleetCalibration.from_bytes(calibration.to_bytes())
    assert restored.carried.keys() == calibration.carried.keys()
    for key, end in calibration.carried.items():
        assert restored.carried[key].z == end.z
        np.testing.assert_array_equal(restored.carried[key].peaks, end.peaks)
    # and the restored calibration goes on as the original would
    rest = [(group, _part(scored, slice(SPLIT, None))) for group, scored in batch]
    a = calibrate_batch(calibration, rest, keys=keys)
    b = calibrate_batch(restored, rest, keys=keys)
    np.testing.assert_array_equal(a[0].scores, b[0].scores)
    assert _tallies(restored) == _tallies(calibration)


def test_a_document_from_before_carried_ends_loads_without_them() -> None:
    batch, keys = _fleet()
    calibration, _ = _in_runs(batch, keys, [SPLIT])
    body = json.loads(calibration.to_bytes())
    body["format"] = 4
    del body["carried"]
    old = FleetCalibration.from_bytes(json.dumps(body).encode())
    assert old.carried == {}
    assert old.groups["cpu_usage"].onsets.tolist() == _tallies(calibration)[0]


@pytest.mark.parametrize(
    "end",
    [[1.0, [0.5] * (QUIET_POINTS - 1)], [1.0, [float("nan")] * QUIET_POINTS], [1.0]],
)
def test_a_malformed_series_end_is_a_typed_error(end: list[object]) -> None:
    batch, keys = _fleet()
    calibration, _ = _in_runs(batch, keys, [SPLIT])
    body = json.loads(calibration.to_bytes())
    body["carried"][keys[0]] = end
    with pytest.raises(ValidationError, match="fleet_calibration"):
        FleetCalibration.from_bytes(json.dumps(body).encode())


def test_keys_must_name_every_series() -> None:
    batch, keys = _fleet()
    with pytest.raises(ValidationError, match="keys"):
        calibrate_batch(FleetCalibration(), batch, keys=keys[:-1])


def test_a_series_end_writes_scores_below_the_counted_levels_as_zero() -> None:
    peaks = np.linspace(0.0, 0.9, QUIET_POINTS)
    z, written = SeriesEnd(2.5, peaks).to_json()
    assert z == 2.5
    assert written == [float(p) if p >= LEVELS[0] else 0 for p in peaks]
