"""Peer context: a move the whole fleet makes at once is judged against the fleet."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.analytics.types import MetricSeries
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.fleet_calibration import FleetCalibration, calibrate_batch, fleet_group
from backend.detection.peer_context import bucket_medians, peer_residuals, typical_step
from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries
from backend.simulator.fleet import FleetSpec, simulate_fleet

DAY = 288  # points at 5-minute steps
SATURDAY = 5 * DAY  # the simulated fleets start on a Monday at midnight
FIRST_HOUR = slice(SATURDAY, SATURDAY + 12)
POINT_UP = STATISTIC_NAMES.index("point_up")
GAP = STATISTIC_NAMES.index("gap")
SLOW_SHIFT = STATISTIC_NAMES.index("slow_shift")


@pytest.fixture(scope="module")
def week() -> list[MetricSeries]:
    """A week of 40 nodes' throughput and CPU, no anomalies injected: its only surprise is
    the first weekend, when every node's load drops at midnight."""
    spec = FleetSpec(
        nodes_per_cluster=40,
        metrics=("throughput", "cpu_usage"),
        num_points=7 * DAY,
        freq="5min",
        anomaly_ratio=0.0,
        seed=3,
    )
    return list(simulate_fleet(spec).series)


def _calibrated(series: list[MetricSeries], peer_floor: float) -> list[ScoredSeries]:
    engine = DefaultAnomalyEngine()
    batch = [(fleet_group(s), engine.score_series(s)) for s in series]
    return calibrate_batch(FleetCalibration(peer_floor=peer_floor), batch)


def _alarming(scored: list[ScoredSeries], span: slice) -> int:
    return sum(int((s.scores[span] >= 0.5).any()) for s in scored)


def test_the_first_weekend_alarms_on_few_nodes_once_judged_against_their_peers(
    week: list[MetricSeries],
) -> None:
    alone = _alarming(_calibrated(week, peer_floor=0.0), FIRST_HOUR)
    with_peers = _alarming(_calibrated(week, peer_floor=1.0), FIRST_HOUR)
    assert alone >= 8  # each node on its own sees a drop it has never seen
    assert with_peers <= 2


def test_a_node_that_stands_out_from_its_peers_during_the_move_still_alarms(
    week: list[MetricSeries],
) -> None:
    target = next(i for i, s in enumerate(week) if s.metric_name == "throughput")
    values = week[target].values_array.copy()
    at = SATURDAY + 3
    values[at] += 8.0 * float(np.std(np.diff(values[:SATURDAY])))
    spiked = MetricSeries.from_arrays(week[target].key, week[target].timestamps_ns, values)
    fleet = [spiked if i == target else s for i, s in enumerate(week)]
    out = _calibrated(fleet, peer_floor=1.0)
    assert out[target].scores[at] >= 0.5
    assert _alarming([o for i, o in enumerate(out) if i != target], FIRST_HOUR) <= 2


def _synthetic(
    n_series: int, move: float, moved_at: int, statistic: int, loud: float = 0.8
) -> list:
    """Gaussian residuals whose own scores are |z| / 10; every series moves by ``move``
    scales at ``moved_at`` and there scores ``loud`` with ``statistic``."""
    rng = np.random.default_rng(5)
    n = 4 * DAY
    ts = np.arange(n, dtype=np.int64) * 300 * 10**9
    batch = []
    for _ in range(n_series):
        z = rng.standard_normal(n)
        z[moved_at] += move
        raw = np.clip(np.abs(z) / 10.0, 0.0, 1.0)
        raw[moved_at] = loud
        stat = np.full(n, POINT_UP, dtype=np.float64)
        stat[moved_at] = statistic
        zeros = np.zeros(n)
        scored = ScoredSeries(ts, zeros, raw, raw.copy(), zeros, zeros, zeros, z, zeros, stat)
        batch.append(("cpu_usage", scored))
    return batch


def test_only_a_real_move_of_the_peers_limits_scores() -> None:
    at = 3 * DAY + 250  # the pooled tails are heard by then (20,000 points)
    moved = calibrate_batch(FleetCalibration(), _synthetic(20, 6.0, at, POINT_UP))
    still = calibrate_batch(FleetCalibration(), _synthetic(20, 0.0, at, POINT_UP))
    assert max(s.scores[at] for s in moved) < 0.5
    # peers within a fraction of a scale: each point keeps its own score
    assert min(s.scores[at] for s in still) >= 0.5


@pytest.mark.parametrize("statistic", [GAP, SLOW_SHIFT])
def test_gaps_and_slow_statistics_are_not_limited(statistic: int) -> None:
    at = 3 * DAY + 250  # the pooled tails are heard by then (20,000 points)
    # louder than the pooled tail says, so the statistic keeps its name
    out = calibrate_batch(FleetCalibration(), _synthetic(20, 6.0, at, statistic, loud=1.0))
    assert min(s.scores[at] for s in out) == pytest.approx(1.0)
    assert {int(s.statistic[at]) for s in out} == {statistic}


def test_peer_context_round_trips_and_older_calibrations_take_the_defaults() -> None:
    calibration = FleetCalibration(peer_floor=1.5, peer_min_series=12)
    restored = FleetCalibration.from_bytes(calibration.to_bytes())
    assert (restored.peer_floor, restored.peer_min_series) == (1.5, 12)
    body = json.loads(calibration.to_bytes())
    del body["peer_floor"], body["peer_min_series"]
    older = FleetCalibration.from_bytes(json.dumps(body).encode())
    assert (older.peer_floor, older.peer_min_series) == (1.0, 10)


def test_medians_are_taken_per_bucket_and_only_over_enough_series() -> None:
    buckets = np.array([7, 7, 7, 7, 8, 8])
    z = np.array([4.0, -1.0, 2.0, 3.0, 5.0, 6.0])
    np.testing.assert_allclose(bucket_medians(buckets, z, 3)[:4], 2.5)
    assert np.isnan(bucket_medians(buckets, z, 3)[4:]).all()
    relative, moved = peer_residuals(z, bucket_medians(buckets, z, 3), floor=3.0)
    assert not moved.any()
    np.testing.assert_array_equal(relative, z)
    assert typical_step([np.array([0, 60, 120, 240])]) == 60
