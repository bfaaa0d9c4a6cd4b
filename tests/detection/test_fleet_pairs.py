"""The pooled pair tail: two points in a row far out, judged against the tenant's metric."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.detection.fleet_calibration import FleetCalibration, calibrate_batch
from backend.detection.fleet_tail import pair_residuals
from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries

POINT_UP = STATISTIC_NAMES.index("point_up")
PAIR = STATISTIC_NAMES.index("pair")
DAY = 288  # points at 5-minute steps
CHUNK = 72  # the calibration's 6-hour chunks
# the held burst straddles the boundary between two chunks of the last day
HELD = (3 * DAY + 2 * CHUNK - 1, 3 * DAY + 2 * CHUNK)
DECAYING = 3 * DAY + 40


def _scored(z: np.ndarray) -> ScoredSeries:
    """A series' output whose own (loose) tails score a residual z at |z| / 32."""
    n = z.size
    raw = np.clip(np.abs(z) / 32.0, 0.0, 1.0)
    zeros = np.zeros(n)
    stat = np.full(n, POINT_UP, dtype=np.float64)
    ts = np.arange(n, dtype=np.int64) * 300 * 10**9
    return ScoredSeries(ts, zeros, raw.copy(), raw.copy(), zeros, zeros, zeros, z, zeros, stat)


def _bursty(rng: np.random.Generator, n: int = 4 * DAY) -> np.ndarray:
    """Gaussian residuals with bursts of 6–10 scales that fall to a fifth the next point,
    as an error rate's bursts do: single points far out are usual, pairs are not."""
    z = rng.standard_normal(n)
    for onset in np.flatnonzero(rng.random(n - 1) < 0.01):
        height = rng.uniform(6.0, 10.0)
        z[onset], z[onset + 1] = height, 0.2 * height
    return z


def _fleet(rng: np.random.Generator, n_series: int) -> list[tuple[str, ScoredSeries]]:
    zs = [_bursty(rng) for _ in range(n_series)]
    quiet = slice(3 * DAY, None)
    zs[0][quiet] = rng.standard_normal(DAY)  # the probed day: no bursts but ours
    zs[0][HELD[0]], zs[0][HELD[1]] = 8.0, 8.0  # a fault that holds for two points
    zs[0][DECAYING], zs[0][DECAYING + 1] = 9.5, 1.9  # a larger burst that decays
    return [("error_rate", _scored(z)) for z in zs]


def test_pairs_are_the_smaller_of_two_residuals_on_one_side() -> None:
    z = np.array([2.0, 6.0, 5.0, -3.0, -7.0, 0.0, 4.0])
    assert pair_residuals(z).tolist() == [0.0, 2.0, 5.0, 0.0, -3.0, 0.0, 0.0]
    assert pair_residuals(z, before=1.5).tolist()[0] == 1.5
    assert pair_residuals(z, before=-1.5).tolist()[0] == 0.0
    assert pair_residuals(np.array([])).size == 0


def test_in_a_fleet_a_held_burst_alarms_where_a_larger_decaying_one_does_not() -> None:
    rng = np.random.default_rng(3)
    calibration = FleetCalibration()
    out = calibrate_batch(calibration, _fleet(rng, 20))[0]
    # the second point of the held burst: rarer as a pair than anything the metric shows
    assert out.scores[HELD[1]] > 0.5
    assert out.statistic[HELD[1]] == PAIR
    # a single point of 9.5 is a burst like many others across the fleet
    assert out.scores[DECAYING] < 0.5
    assert out.scores[DECAYING + 1] < 0.5
    assert calibration.pairs["error_rate"].points == calibration.residuals["error_rate"].points


def test_without_the_pair_tail_the_held_burst_keeps_its_point_score() -> None:
    rng = np.random.default_rng(3)
    calibration = FleetCalibration()
    batch = _fleet(rng, 20)
    calibrate_batch(calibration, batch[1:])
    probe = batch[0][1]
    tail = calibration.residual_tails(["error_rate"])["error_rate"]
    _, scores, statistic = calibration.pool(
        "error_rate", probe.raw_scores, probe.scores, probe.statistic, probe.z, tail
    )
    assert scores[HELD[1]] < 0.5  # 8 scales alone is no rarer than the fleet's bursts
    assert statistic[HELD[1]] == POINT_UP
    _, with_pairs, named = calibration.pool(
        "error_rate",
        probe.raw_scores,
        probe.scores,
        probe.statistic,
        probe.z,
        tail,
        pair_tail=calibration.pair_tails(["error_rate"])["error_rate"],
    )
    assert with_pairs[HELD[1]] > 0.5
    assert named[HELD[1]] == PAIR


def test_a_single_series_keeps_its_own_pairs() -> None:
    rng = np.random.default_rng(4)
    (only,) = _fleet(rng, 1)
    out = calibrate_batch(FleetCalibration(), [only])[0]
    assert out.scores[HELD[1]] == pytest.approx(8.0 / 32.0)
    assert out.statistic[HELD[1]] == POINT_UP


def test_pair_tails_round_trip_and_an_older_calibration_loads_without_them() -> None:
    rng = np.random.default_rng(5)
    calibration = FleetCalibration()
    calibrate_batch(calibration, _fleet(rng, 20)[1:])
    probe = _fleet(np.random.default_rng(6), 1)[0][1]
    restored = FleetCalibration.from_bytes(calibration.to_bytes())
    np.testing.assert_allclose(
        restored.calibrate("error_rate", probe).scores,
        calibration.calibrate("error_rate", probe).scores,
    )
    assert calibration.calibrate("error_rate", probe).statistic[HELD[1]] == PAIR
    body = json.loads(calibration.to_bytes())
    body["format"] = 2
    del body["pairs"]
    older = FleetCalibration.from_bytes(json.dumps(body).encode())
    assert older.pairs == {}
    assert older.residuals["error_rate"].points == calibration.residuals["error_rate"].points
    assert older.calibrate("error_rate", probe).scores[HELD[1]] < 0.5
