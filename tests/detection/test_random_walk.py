"""The random-walk forecaster: taken where the level lags (a sawtooth), left elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from backend.detection.streaming import layout as ly
from backend.detection.streaming.detector import StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.errors import ConfigError
from tests.detection._series import MINUTE_NS, START_NS, noisy

N = 3000
PERIOD = 48  # points between releases


def _sawtooth(seed: int, n: int = N) -> np.ndarray:
    """Memory that leaks 20 units over four hours (5-minute steps), then is released."""
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0.0, 0.8, n)
    return 40.0 + 20.0 * ((t % PERIOD) / PERIOD) + noise


def steps(n: int) -> np.ndarray:
    """``n`` timestamps five minutes apart."""
    return START_NS + np.arange(n, dtype=np.int64) * 5 * MINUTE_NS


def _walking(values: np.ndarray, params: DetectorParams | None = None) -> float:
    detector = StreamingDetector(params)
    detector.score(steps(values.size), values)
    return float(detector.state[ly.I_RW_ON])


def test_sawtooth_is_forecast_by_the_random_walk() -> None:
    assert _walking(_sawtooth(0)) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noise_around_a_level_keeps_the_level(seed: int) -> None:
    assert _walking(noisy(N, seed=seed)) == 0.0


def test_random_walk_hands_back_when_the_series_stops_walking() -> None:
    values = np.r_[_sawtooth(0, 1500), noisy(4500, seed=4, level=50.0)]  # slow by design
    detector = StreamingDetector()
    detector.score(steps(1500), values[:1500])
    assert detector.state[ly.I_RW_ON] == 1.0
    detector.score(steps(values.size)[1500:], values[1500:])
    assert detector.state[ly.I_RW_ON] == 0.0


def test_random_walk_switched_off_by_config() -> None:
    assert _walking(_sawtooth(0), DetectorParams(rw_ratio=0.0)) == 0.0


def _spike_found(seed: int, rw_ratio: float) -> bool:
    values = _sawtooth(seed)
    at = 2000 + PERIOD // 2 + seed  # mid-ramp, where the level lags most
    values[at] += 8.0  # ten times the noise, under half the ramp
    detector = StreamingDetector(DetectorParams(rw_ratio=rw_ratio))
    return bool(detector.score(steps(N), values).scores[at] >= 0.5)


def test_spike_on_a_sawtooth_is_found_with_the_random_walk_and_not_without() -> None:
    with_walk = sum(_spike_found(seed, 0.45) for seed in range(8))
    without = sum(_spike_found(seed, 0.0) for seed in range(8))
    assert with_walk >= 7
    assert without <= 2


def test_no_alarm_on_a_clean_sawtooth_after_its_first_release() -> None:
    scores = StreamingDetector().score(steps(N), _sawtooth(5)).scores
    assert scores[PERIOD + 5 :].max() < 0.5  # the first release is news; the later ones not


def test_forecast_follows_the_ramp() -> None:
    values = _sawtooth(0)
    scored = StreamingDetector().score(steps(N), values)
    on_ramp = (np.arange(N) % PERIOD > 2) & (np.arange(N) >= 1000)
    error = float(np.median(np.abs(values - scored.expected)[on_ramp]))
    assert error < 0.8  # a difference of two noises: 0.8 × √2 × 0.67 (median |N|) ≈ 0.76


@pytest.mark.parametrize("value", [-0.1, 1.0])
def test_rw_ratio_out_of_range_is_a_config_error(value: float) -> None:
    with pytest.raises(ConfigError, match="rw_ratio"):
        DetectorParams(rw_ratio=value)
