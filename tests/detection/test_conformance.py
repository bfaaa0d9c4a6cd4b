"""Conformance suite every engine must pass. Add an engine's registry name (and the config it
needs to score short test series) to ENGINES."""

from __future__ import annotations

import pickle
from datetime import timedelta

import numpy as np
import pytest

from backend.analytics.engine import EngineRegistry
from backend.evaluation.scoring import engine_scores
from tests.detection._series import minutes, noisy, series

_PREFIX = {"train_points": 200, "emit_normal": False}
# the test series are hours of one-minute points: heard after the warm-up's points, not after
# the learning period's twelve hours (tests/detection/test_learning_period.py)
_SHORT = {"warmup_hours": 0.0}
ENGINES = [
    pytest.param(("default", _SHORT), id="default"),
    pytest.param(("multivariate", _PREFIX), id="multivariate"),
    pytest.param(("merlion", _PREFIX), id="merlion", marks=pytest.mark.merlion),
]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest):
    name, config = request.param
    return EngineRegistry.get(name, dict(config))


def _anomalies(results: list) -> list:
    return [r for r in results if r.is_anomaly]


def _spiky(n: int = 600, at: int = 450) -> np.ndarray:
    values = noisy(n, seed=3)
    values[at] += 40.0
    return values


def test_engine_scores_no_look_ahead(engine) -> None:
    values = _spiky()
    whole = engine_scores(engine, series(values))
    prefix = engine_scores(engine, series(values[:460]))
    np.testing.assert_array_equal(prefix, whole[:460])


def test_engine_scores_in_unit_interval(engine) -> None:
    scores = engine_scores(engine, series(_spiky()))
    assert np.isfinite(scores).all()
    assert scores.min() >= 0.0 and scores.max() <= 1.0


def test_engine_detect_deterministic(engine) -> None:
    first = engine.detect(series(_spiky()))
    second = EngineRegistry.get(engine.engine_name(), dict(engine.config)).detect(series(_spiky()))
    assert [(r.window_start, r.anomaly_score) for r in first] == [
        (r.window_start, r.anomaly_score) for r in second
    ]


def test_engine_pickle_round_trip_same_results(engine) -> None:
    clone = pickle.loads(pickle.dumps(engine))
    a = engine.detect(series(_spiky()))
    b = clone.detect(series(_spiky()))
    assert [(r.window_start, r.anomaly_score) for r in a] == [
        (r.window_start, r.anomaly_score) for r in b
    ]


def test_engine_windows_its_own_scores_as_detect_does(engine) -> None:
    """``results_from_scores(score_series(s))`` is ``detect(s)``: callers that want both the
    per-point scores and the windows (``detect-file``) score once."""
    spiky = series(_spiky())

    def verdicts(results: list) -> list[tuple]:
        return [(r.window_start, r.window_end, r.anomaly_score, r.anomaly_label,
                 r.anomaly_kind, r.explanation) for r in results]  # fmt: skip

    windows = engine.results_from_scores(spiky, engine.score_series(spiky))
    assert verdicts(windows) == verdicts(engine.detect(spiky))
    assert _anomalies(windows)


def test_engine_detect_finds_injected_spike(engine) -> None:
    results = engine.detect(series(_spiky(at=450)))
    spike_time = series(_spiky()).timestamps[450]
    assert any(r.is_anomaly and r.window_start <= spike_time <= r.window_end for r in results)


def test_engine_detect_finds_level_shift(engine) -> None:
    values = noisy(700, seed=5)
    values[500:] += 15.0
    shift_time = series(values).timestamps[500]
    starts = [r.window_start for r in engine.detect(series(values)) if r.is_anomaly]
    assert any(shift_time <= start <= shift_time + timedelta(minutes=10) for start in starts)


def test_engine_flat_line_quiet_then_change_flagged(engine) -> None:
    values = np.full(500, 7.0)
    assert _anomalies(engine.detect(series(values))) == []
    values[400:] = 7.5
    flagged = [r for r in engine.detect(series(values)) if r.is_anomaly]
    assert flagged and flagged[0].window_start == series(values).timestamps[400]


def test_engine_counter_steady_rate_quiet_rate_jump_flagged(engine) -> None:
    rng = np.random.default_rng(1)
    increments = rng.poisson(100, 800).astype(float)
    quiet = engine.detect(series(np.cumsum(increments), metric="requests_total"))
    assert _anomalies(quiet) == []
    increments[600:] *= 5
    flagged = _anomalies(engine.detect(series(np.cumsum(increments), metric="requests_total")))
    assert any(r.window_start <= series(increments).timestamps[603] for r in flagged)


def test_engine_gap_in_timestamps_scored_and_flagged(engine) -> None:
    values = noisy(700, seed=2)
    ts = minutes(700)
    ts[500:] += 90 * 60 * 10**9  # ninety minutes without data
    scores = engine_scores(engine, series(values, ts))
    assert np.isfinite(scores).all()
    # flagged when data resumes, or (the default engine) at the next point, which shows that
    # the points were missing rather than stamped together at the gap's end
    assert scores[500:502].max() >= 0.5
