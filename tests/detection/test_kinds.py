"""The detector's own kind naming (used when the explanation classifier is unavailable or
reads a spike where only a slow statistic alarmed)."""

from __future__ import annotations

import dataclasses

import numpy as np

from backend.analytics.types import AnomalyKind
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries, StreamingDetector
from backend.detection.streaming.kinds import SLOW_KINDS, guess_kind
from backend.evaluation.fleet import evaluation_fleet_spec
from backend.simulator.fleet import simulate_fleet


def _spiky_scores() -> tuple[ScoredSeries, int]:
    ts = np.arange(400, dtype=np.int64) * 60 * 10**9
    x = 10.0 + np.random.default_rng(3).normal(0.0, 0.3, 400)
    x[300] += 8.0
    scored = StreamingDetector().score(ts, x)
    return scored, 300


def test_a_spike_is_a_spike() -> None:
    scored, at = _spiky_scores()
    assert guess_kind(scored, at, at) is AnomalyKind.SPIKE


def test_a_slow_statistic_names_its_own_kind() -> None:
    scored, at = _spiky_scores()
    for name, kind in (
        ("slow_shift", AnomalyKind.DRIFT),
        ("slow_volatility", AnomalyKind.SEASONAL),
        ("slow_swing", AnomalyKind.SEASONAL),
    ):
        statistic = scored.statistic.copy()
        statistic[at] = STATISTIC_NAMES.index(name)
        relabelled = dataclasses.replace(scored, statistic=statistic)
        assert guess_kind(relabelled, at, at) is kind
    assert set(SLOW_KINDS) == {
        STATISTIC_NAMES.index(n) for n in ("slow_shift", "slow_volatility", "slow_swing")
    }


def test_without_the_classifier_day_level_alarms_are_drifts() -> None:
    fleet = simulate_fleet(evaluation_fleet_spec(16, seed=2))
    series = next(s for s in fleet.series if s.node_id == "node-002" and s.metric_name == "disk_io")
    alarms = DefaultAnomalyEngine({"use_classifier": False}).detect(series)
    slow = [r for r in alarms if r.engine_metadata["statistic"] == "slow_shift"]
    assert slow
    assert {r.anomaly_kind for r in slow} == {"drift"}
    assert all("its mean over the last day" in (r.explanation or "") for r in slow)
