"""Runs that go on where the last left each series: a live fleet scored a few new points at
a time counts alarms and pairs as one pass over its whole history would."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from backend.analytics._timeconv import NS_PER_DAY
from backend.detection.fleet_calibration import (
    END_HORIZON_NS,
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
    [
        [1.0, [0.5] * (QUIET_POINTS - 1)],
        [1.0, [float("nan")] * QUIET_POINTS],
        [1.0],
        [1.0, [0.5] * QUIET_POINTS, -5],
        [1.0, [0.5] * QUIET_POINTS, "2026-11-24"],
    ],
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
    z, written, t_ns = SeriesEnd(2.5, peaks).to_json()
    assert (z, t_ns) == (2.5, 0)
    assert written == [float(p) if p >= LEVELS[0] else 0 for p in peaks]


def _later(scored: ScoredSeries, after_ns: int, points: int = 24) -> ScoredSeries:
    """``points`` more points of ``scored``'s shape, the first ``after_ns`` after its last."""
    part = _part(scored, slice(0, points))
    ts = part.timestamps_ns - part.timestamps_ns[0] + scored.timestamps_ns[-1] + after_ns
    return ScoredSeries(ts, *(getattr(part, f) for f in list(part.__dataclass_fields__)[1:]))


def test_an_end_keeps_the_time_of_its_series_last_point() -> None:
    batch, keys = _fleet(n_series=2)
    calibration, _ = _in_runs(batch, keys, [SPLIT])
    assert calibration.carried[keys[0]].t_ns == int(batch[0][1].timestamps_ns[-1])
    restored = FleetCalibration.from_bytes(calibration.to_bytes())
    assert restored.carried[keys[0]].t_ns == calibration.carried[keys[0]].t_ns


@pytest.mark.parametrize(("silent_days", "kept"), [(6, True), (8, False)])
def test_the_end_of_a_series_silent_past_the_horizon_is_dropped(
    silent_days: int, kept: bool
) -> None:
    batch, keys = _fleet(n_series=12)
    calibration, _ = _in_runs(batch, keys, [])
    assert 7 * NS_PER_DAY == END_HORIZON_NS
    # only the first 11 series go on; the last one falls silent
    going_on = [(group, _later(scored, silent_days * NS_PER_DAY)) for group, scored in batch[:-1]]
    calibrate_batch(calibration, going_on, keys=keys[:-1])
    assert keys[-1] in calibration.carried  # a run's batches all read the ends as they were
    calibration.drop_silent_ends(int(going_on[0][1].timestamps_ns[-1]))  # the run is done
    assert set(keys[:-1]) <= calibration.carried.keys()
    assert (keys[-1] in calibration.carried) is kept


def test_a_series_back_after_the_horizon_starts_afresh() -> None:
    batch, keys = _fleet(n_series=12)
    batch[0][1].z[-1] = 50.0  # its last residual before it falls silent ...
    calibration, _ = _in_runs(batch, keys, [])
    eight_days = 8 * NS_PER_DAY
    others = [(group, _later(scored, eight_days, points=1)) for group, scored in batch[1:]]
    calibrate_batch(calibration, others, keys=keys[1:])  # the fleet goes on without it
    calibration.drop_silent_ends(int(others[0][1].timestamps_ns[-1]))
    assert keys[0] not in calibration.carried
    back = _later(batch[0][1], eight_days + 300 * 10**9)
    back.z[0] = 50.0  # ... and its first on return: paired, they would make a pair of 50
    as_kept, afresh = (FleetCalibration.from_bytes(calibration.to_bytes()) for _ in range(2))
    as_kept.carried[keys[0]] = SeriesEnd(50.0, np.zeros(QUIET_POINTS), 1)
    calibrate_batch(calibration, [("cpu_usage", back)], keys=keys[:1])
    calibrate_batch(afresh, [("cpu_usage", back)])
    calibrate_batch(as_kept, [("cpu_usage", back)], keys=keys[:1])
    assert _tallies(calibration) == _tallies(afresh)
    assert _tallies(calibration)[1] != _tallies(as_kept)[1]


def test_ends_saved_without_their_time_are_timed_by_the_next_run() -> None:
    batch, keys = _fleet(n_series=12)
    calibration, _ = _in_runs(batch, keys, [])
    body = json.loads(calibration.to_bytes())
    body["format"] = 5
    body["carried"] = {key: end[:2] for key, end in body["carried"].items()}
    old = FleetCalibration.from_bytes(json.dumps(body).encode())
    assert {end.t_ns for end in old.carried.values()} == {0}
    first = [(group, _later(scored, NS_PER_DAY)) for group, scored in batch[:-1]]
    calibrate_batch(old, first, keys=keys[:-1])
    newest = int(first[0][1].timestamps_ns[-1])
    old.drop_silent_ends(newest)
    assert old.carried[keys[-1]].t_ns == newest  # kept, timed by this run
    later = [(group, _later(scored, 8 * NS_PER_DAY)) for group, scored in first]
    calibrate_batch(old, later, keys=keys[:-1])
    old.drop_silent_ends(int(later[0][1].timestamps_ns[-1]))
    assert keys[-1] not in old.carried
