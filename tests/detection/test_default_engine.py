from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from backend.analytics.engine import EngineRegistry
from backend.analytics.types import AnomalyKind, AnomalyResult, MetricSeries
from backend.detection.default_engine import DefaultAnomalyEngine, is_counter_hint
from backend.detection.streaming.detector import STATISTIC_NAMES, ScoredSeries
from backend.errors import ConfigError, ValidationError
from tests.detection._series import minutes, noisy, series


def _with_spikes() -> np.ndarray:
    values = noisy(800, seed=9)
    values[400] += 40
    values[650] -= 40
    return values


def _spiky() -> MetricSeries:
    """The spikes at five-minute points: past the warm-up (15 h) before the first."""
    return series(_with_spikes(), minutes(800, every=5))


def test_registry_default_is_default_engine() -> None:
    engine = EngineRegistry.get("default")
    assert isinstance(engine, DefaultAnomalyEngine) and engine.engine_name() == "default"


def test_detect_windows_time_ordered_with_metadata() -> None:
    results = DefaultAnomalyEngine().detect(_spiky())
    starts = [r.window_start for r in results]
    assert starts == sorted(starts) and len(results) >= 2
    meta = results[0].engine_metadata
    assert {"expected", "lower", "upper", "raw_score", "statistic"} <= set(meta)
    assert all(0.0 <= r.magnitude <= 1.0 for r in results)


def test_detect_spike_and_dip_kinds() -> None:
    kinds = {r.anomaly_kind for r in DefaultAnomalyEngine().detect(_spiky())}
    assert {"spike", "dip"} <= kinds


def test_detect_emit_normal_covers_series() -> None:
    s = _spiky()
    results = DefaultAnomalyEngine({"emit_normal": True}).detect(s, window_size=100)
    normal = [r for r in results if not r.is_anomaly]
    assert normal and all(r.anomaly_label == "normal" for r in normal)
    assert results[0].window_start == s.timestamps[0]
    assert [r.window_start for r in results] == sorted(r.window_start for r in results)


def test_detect_higher_threshold_fewer_windows() -> None:
    s = _spiky()
    assert len(DefaultAnomalyEngine({"threshold": 0.99}).detect(s)) <= len(
        DefaultAnomalyEngine().detect(s)
    )


def test_engine_threshold_out_of_range_rejected() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        DefaultAnomalyEngine({"threshold": 1.5})


def test_counter_hint_from_name_and_metadata() -> None:
    assert is_counter_hint(series(noisy(5), metric="http_requests_total"))
    assert is_counter_hint(series(noisy(5), metadata={"metric_type": "counter"}))
    assert not is_counter_hint(series(noisy(5)))


def test_explain_mentions_kind() -> None:
    engine = DefaultAnomalyEngine()
    s = _spiky()
    result = engine.detect(s)[0]
    assert engine.explain(s, result)


@pytest.mark.parametrize("seed", range(3))
def test_a_drift_found_by_the_day_level_is_named_a_drift(seed: int) -> None:
    n, per_day = 4032, 288  # 14 days at 5 minutes
    t = np.arange(n)
    values = 50.0 + 10.0 * np.sin(2 * np.pi * t / per_day)
    values += np.random.default_rng(seed).normal(0.0, 2.0, n)
    start = 6 * per_day
    values[start:] += np.linspace(0.0, 12.0, n - start)  # 6 noise sd over 8 days
    ts = t.astype(np.int64) * 300 * 10**9
    engine = DefaultAnomalyEngine()
    drifting = series(values, ts)
    results = engine.detect(drifting)
    late = [r for r in results if r.engine_metadata["statistic"] == "slow_shift"]
    assert late and all(r.anomaly_kind == "drift" for r in late)
    # The classifier reads the day the day level averaged, not the alarm's single point.
    scored = engine.score_series(drifting)
    alarm = int(np.flatnonzero(scored.statistic == STATISTIC_NAMES.index("slow_shift"))[-1])
    evidence = engine._evidence(drifting, scored, alarm, alarm, AnomalyKind.SPIKE)
    assert (evidence.window_end - evidence.window_start).total_seconds() == 86_400


def _newest(scored: ScoredSeries, points: int) -> ScoredSeries:
    """The last ``points`` of a one-pass scoring: what an incremental run scores (the
    detector is streaming, so a resumed one gives these same scores)."""
    return ScoredSeries(*(getattr(scored, f.name)[-points:] for f in dataclasses.fields(scored)))


def test_an_incremental_run_reads_a_day_level_alarm_over_the_day_before_its_points() -> None:
    """A live run scores only its newest points; the day the day level averaged lies in the
    context read before them, and the alarm is told as one pass over the series tells it."""
    n, per_day = 4032, 288
    t = np.arange(n)
    values = 50.0 + 10.0 * np.sin(2 * np.pi * t / per_day)
    values += np.random.default_rng(0).normal(0.0, 2.0, n)
    values[6 * per_day :] += np.linspace(0.0, 12.0, n - 6 * per_day)
    drifting = series(values, t.astype(np.int64) * 300 * 10**9)
    engine = DefaultAnomalyEngine()
    scored = engine.score_series(drifting)
    alarm = int(np.flatnonzero(scored.statistic == STATISTIC_NAMES.index("slow_shift"))[-1])
    newest = _newest(scored, n - alarm + 5)  # the run's points start 5 before the alarm
    evidence = engine._evidence(drifting, newest, 5, 5, AnomalyKind.SPIKE)
    assert (evidence.window_end - evidence.window_start).total_seconds() == 86_400
    live = [r for r in engine.results_from_scores(drifting, newest) if r.is_anomaly]
    one_pass = [r for r in engine.detect(drifting) if r.window_start >= live[0].window_start]

    def told(results: list[AnomalyResult]) -> list[tuple[object, ...]]:
        return [(r.window_start, r.anomaly_kind, r.explanation) for r in results if r.is_anomaly]

    assert told(live) == told(one_pass)


def test_a_counter_with_negative_values_is_rejected_with_the_field_named() -> None:
    # Counters only grow (or reset to 0); negative values would make their rates garbage,
    # and a swing between ±1.8e308 used to overflow them into a nan magnitude.
    top = np.finfo(np.float64).max
    values = np.where(np.random.default_rng(1).random(3000) < 0.5, top, -top)
    with pytest.raises(ValidationError) as raised:
        DefaultAnomalyEngine().detect(series(values, metric="requests_total"))
    assert raised.value.field == "values" and "counter" in str(raised.value)
    # the same values as a gauge are scored
    assert DefaultAnomalyEngine().score_series(series(values, metric="balance")).scores.size


def test_a_counter_from_zero_is_accepted() -> None:
    values = np.cumsum(np.random.default_rng(2).integers(0, 50, 800)).astype(float)
    values[400:] -= values[400]  # a reset to 0
    assert DefaultAnomalyEngine().score_series(series(values, metric="requests_total")).scores.size


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's overflow notes on such values
def test_a_gauge_at_the_float_limit_is_explained_not_rejected() -> None:
    # An exporter that pegs a runaway gauge at the largest float (1.7e308): the differences
    # the explanation measures overflow (inf / inf); it used to fail with "severity=nan".
    # (The kernel's writes on such values are checked in test_float_limit.py.)
    values = np.nan_to_num(np.exp(np.arange(3000) / 4.0), posinf=np.finfo(np.float64).max)
    results = DefaultAnomalyEngine().detect(series(values, metric="latency"))
    assert results
    assert all(r.explanation and "e+" in r.explanation for r in results)
    assert all(len(r.explanation or "") < 300 for r in results)  # no 300-digit numbers
