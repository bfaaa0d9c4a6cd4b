"""The pair statistic (a short run beyond the usual on one side) and the level's damped trend."""

from __future__ import annotations

import numpy as np

from backend.detection.streaming import layout as ly
from backend.detection.streaming.detector import STATISTIC_NAMES, StreamingDetector
from backend.detection.streaming.params import DetectorParams
from tests.detection._series import minutes

N = 3000
ALL_STATS = (1 << ly.N_ALL_STATS) - 1
WITHOUT_PAIR = ALL_STATS & ~(1 << ly.S_PAIR)


def _heavy_tailed_with_run(seed: int, height: float) -> np.ndarray:
    """Student-t (3 degrees of freedom) noise: single bursts of +10 are not rare on it."""
    values = 100.0 + np.random.default_rng(seed).standard_t(3.0, N)
    values[2500:2503] += height
    return values


def _run_found(stat_mask: int, seed: int) -> bool:
    detector = StreamingDetector(DetectorParams(stat_mask=stat_mask, compress=0.0))
    scores = detector.score(minutes(N), _heavy_tailed_with_run(seed, 10.0)).scores
    return bool(scores[2500:2504].max() >= 0.5)


def test_three_point_run_on_heavy_tailed_noise_is_found_through_the_pair_statistic() -> None:
    with_pair = sum(_run_found(ALL_STATS, seed) for seed in range(10))
    without_pair = sum(_run_found(WITHOUT_PAIR, seed) for seed in range(10))
    assert with_pair >= 8
    assert without_pair <= 3


def test_pair_statistic_is_named_when_it_decides() -> None:
    detector = StreamingDetector(DetectorParams(compress=0.0))
    scored = detector.score(minutes(N), _heavy_tailed_with_run(1, 10.0))
    peak = 2500 + int(np.argmax(scored.scores[2500:2504]))
    assert STATISTIC_NAMES[int(scored.statistic[peak])] == "pair"


def _leaking(n: int = 4000) -> np.ndarray:
    """Memory that leaks for 6 hours (1-minute steps), then is released."""
    t = np.arange(n)
    return 40.0 + 20.0 * ((t % 360) / 360.0) + np.random.default_rng(0).normal(0.0, 0.3, n)


def test_trend_follows_a_ramp_closer_than_a_plain_level() -> None:
    values = _leaking()
    on_ramp = (np.arange(values.size) % 360 > 20) & (np.arange(values.size) >= 1000)
    errors = {}
    for alpha in (0.0, 0.005):  # the level's own forecast (no random walk taking over)
        params = DetectorParams(alpha_trend=alpha, rw_ratio=0.0)
        scored = StreamingDetector(params).score(minutes(4000), values)
        errors[alpha] = float(np.median(np.abs(values - scored.expected)[on_ramp]))
    assert errors[0.005] < 0.6 * errors[0.0]


def test_trend_fades_over_a_gap() -> None:
    """After a long gap the level has moved on along its trend for at most a few steps."""
    values = _leaking(1000)[:300]
    ts = minutes(300)
    ts[-1] = ts[-2] + 600 * 60 * 10**9  # ten hours of silence before the last point
    scored = StreamingDetector().score(ts, values)
    assert abs(scored.expected[-1] - values[-2]) < 5.0
