from __future__ import annotations

import numpy as np
import pytest

from backend.analytics.engine import EngineRegistry
from backend.detection.default_engine import DefaultAnomalyEngine, is_counter_hint
from backend.errors import ConfigError
from tests.detection._series import noisy, series


def _with_spikes() -> np.ndarray:
    values = noisy(800, seed=9)
    values[400] += 40
    values[650] -= 40
    return values


def test_registry_default_is_default_engine() -> None:
    engine = EngineRegistry.get("default")
    assert isinstance(engine, DefaultAnomalyEngine) and engine.engine_name() == "default"


def test_detect_windows_time_ordered_with_metadata() -> None:
    results = DefaultAnomalyEngine().detect(series(_with_spikes()))
    starts = [r.window_start for r in results]
    assert starts == sorted(starts) and len(results) >= 2
    meta = results[0].engine_metadata
    assert {"expected", "lower", "upper", "raw_score", "statistic"} <= set(meta)
    assert all(0.0 <= r.magnitude <= 1.0 for r in results)


def test_detect_spike_and_dip_kinds() -> None:
    kinds = {r.anomaly_kind for r in DefaultAnomalyEngine().detect(series(_with_spikes()))}
    assert {"spike", "dip"} <= kinds


def test_detect_emit_normal_covers_series() -> None:
    s = series(_with_spikes())
    results = DefaultAnomalyEngine({"emit_normal": True}).detect(s, window_size=100)
    normal = [r for r in results if not r.is_anomaly]
    assert normal and all(r.anomaly_label == "normal" for r in normal)
    assert results[0].window_start == s.timestamps[0]
    assert [r.window_start for r in results] == sorted(r.window_start for r in results)


def test_detect_higher_threshold_fewer_windows() -> None:
    s = series(_with_spikes())
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
    s = series(_with_spikes())
    result = engine.detect(s)[0]
    assert engine.explain(s, result)
