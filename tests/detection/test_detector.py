from __future__ import annotations

import numpy as np
import pytest

from backend.analytics.types import MetricSeries
from backend.detection.streaming.detector import STATISTIC_NAMES, DetectorBank, StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.errors import ConfigError, ValidationError
from tests.detection._series import minutes, noisy


def test_bank_update_matches_history_scores_exactly() -> None:
    n, length = 5, 400
    ts = minutes(length, every=5)  # past the warm-up in points and in hours
    data = np.stack([noisy(length, seed=s) for s in range(n)])
    data[2, 300] += 50
    bank = DetectorBank(n)
    ticks = np.stack(
        [bank.update(np.arange(n), np.full(n, ts[i]), data[:, i]) for i in range(length)], axis=1
    )
    for row in range(n):
        np.testing.assert_array_equal(ticks[row], StreamingDetector().score(ts, data[row]).scores)


def test_bank_grow_adds_fresh_rows() -> None:
    bank = DetectorBank(2)
    rows = bank.grow(3)
    assert rows.tolist() == [2, 3, 4] and len(bank) == 5


def test_bank_update_unknown_row_rejected() -> None:
    with pytest.raises(ValidationError, match="rows"):
        DetectorBank(2).update(np.array([5]), np.array([0]), np.array([1.0]))


def test_detector_warmup_scores_zero() -> None:
    values = noisy(300)
    values[50] += 100
    scored = StreamingDetector().score(minutes(300, every=5), values)
    warmup = DetectorParams().warmup_points + DetectorParams().probe_points
    assert scored.scores[:warmup].max() == 0.0
    # and no statistic is named for a warm-up point (the fleet's residual tail skips them)
    assert (scored.statistic[:warmup] == -1).all()
    assert (scored.statistic[warmup:] >= 0).all()


def test_detector_nan_value_rejected() -> None:
    values = noisy(10)
    values[3] = np.nan
    with pytest.raises(ValidationError, match="values\\[3\\]"):
        StreamingDetector().score(minutes(10), values)


def test_detector_band_contains_expected() -> None:
    scored = StreamingDetector().score(minutes(500), noisy(500))
    after = slice(200, None)
    assert (scored.lower[after] <= scored.expected[after]).all()
    assert (scored.upper[after] >= scored.expected[after]).all()


def test_detector_daily_profile_learnt_across_days() -> None:
    n = 4 * 1440
    t = np.arange(n)
    values = 50 + 20 * np.sin(2 * np.pi * t / 1440) + np.random.default_rng(0).normal(0, 1, n)
    scored = StreamingDetector().score(minutes(n), values)
    last_day = slice(3 * 1440, None)
    assert np.abs(values[last_day] - scored.expected[last_day]).mean() < 2.0
    assert scored.scores[last_day].max() < 0.5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("alpha_level", 0.0),
        ("counter", 2),
        ("warmup_points", 3),
        ("tail_mass", 1.5),
        ("compress", -1.0),
        ("novelty_excess", -0.1),
        ("alpha_trend", -0.01),
        ("alpha_trend", 1.0),
        ("trend_damping", 0.0),
        ("trend_damping", 1.5),
        ("gap_grace", -1.0),
        ("shape_gate", -0.5),
    ],
)
def test_params_invalid_rejected(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        DetectorParams(**{field: value})


def _traffic_series() -> list[MetricSeries]:
    """Clean simulated traffic and disk metrics: daily load times heavy-tailed log-noise."""
    from backend.evaluation.fleet import evaluation_fleet_spec
    from backend.simulator.fleet import simulate_fleet

    fleet = simulate_fleet(evaluation_fleet_spec(48, seed=3, anomaly_ratio=0.0))
    heavy = {"network_in", "network_out", "disk_io"}
    return [s for s in fleet.series if s.metric_name in heavy]


def test_detector_multiplicative_noise_fewer_alarms_when_compressed() -> None:
    """Compression gives the residual one scale at every load: fewer residual alarms.

    Counted are the alarms a residual statistic decided (the value's novelty is judged
    against the series' range, which compression does not change the meaning of).
    """
    residual = [STATISTIC_NAMES.index(name) for name in ("point_up", "point_down", "pair")]
    alarms = dict.fromkeys((0.0, 0.03), 0)
    series = _traffic_series()
    assert len(series) >= 12
    for each in series:
        for c in alarms:
            detector = StreamingDetector(DetectorParams(compress=c))
            scored = detector.score(each.timestamps_ns, each.values_array)
            alarms[c] += int(((scored.scores >= 0.5) & np.isin(scored.statistic, residual)).sum())
    assert alarms[0.0] >= 10
    assert alarms[0.03] < 0.75 * alarms[0.0]


def test_detector_negative_values_not_compressed() -> None:
    values = noisy(600, level=0.0)
    plain = StreamingDetector(DetectorParams(compress=0.0)).score(minutes(600), values)
    default = StreamingDetector().score(minutes(600), values)
    np.testing.assert_array_equal(default.scores, plain.scores)


def test_detector_compressed_outputs_in_value_units() -> None:
    values = noisy(600, level=500.0, noise=5.0)
    scored = StreamingDetector().score(minutes(600), values)
    np.testing.assert_allclose(scored.modelled, values, rtol=1e-9)
    assert np.abs(scored.expected[300:] - values[300:]).mean() < 15.0


def test_detector_novelty_gate_repeated_burst_quiet_new_extreme_alarms() -> None:
    values = noisy(4000, noise=1.0)
    bursts = np.arange(400, 3800, 300)
    values[bursts] += 12.0
    values[3900] += 150.0
    gated, plain = (
        StreamingDetector(DetectorParams(compress=0.0, novelty_excess=g)).score(
            minutes(4000), values
        )
        for g in (0.01, 0.0)
    )
    assert gated.scores[bursts[2:]].max() < min(0.5, plain.scores[bursts[2:]].max())
    assert gated.scores[3900] >= 0.5


def test_detector_compressed_band_finite_on_extreme_values() -> None:
    values = np.abs(np.random.default_rng(1).standard_cauchy(2000)) * 1e200
    values[-10] = 1e300
    scored = StreamingDetector().score(minutes(2000), values)
    for out in (scored.scores, scored.expected, scored.lower, scored.upper, scored.z):
        assert np.isfinite(out).all()


def _after_gap(missing: int, **knobs: float) -> tuple[float, str]:
    """(raw score, deciding statistic) of the second point after ``missing`` points were
    lost, on a series that never had a gap before: a gap is judged when the point after
    it shows that the data really was missing."""
    values = noisy(2_000, seed=11)
    ts = minutes(2_000)
    ts[1_500:] += missing * 60 * 10**9
    scored = StreamingDetector(DetectorParams(**knobs)).score(ts, values)  # type: ignore[arg-type]
    return float(scored.raw_scores[1_501]), STATISTIC_NAMES[scored.statistic[1_501]]


def test_one_missed_point_is_no_news_but_a_longer_gap_is() -> None:
    """A collector misses a scrape now and then: one lost point must not raise the score,
    while an hour without data on a series that never had gaps alarms."""
    usual, _ = _after_gap(0)
    one, why = _after_gap(1)
    assert why != "gap" and one < usual + 0.05
    hour, why = _after_gap(60)
    assert why == "gap" and hour >= 0.5
    strict, why = _after_gap(1, gap_grace=0.0)  # without the grace, one lost point is news
    assert why == "gap" and strict > usual + 0.1


def _spring_forward(squeezed: bool) -> np.ndarray:
    """Raw scores of a 5-minute series whose stamps skip an hour at point 1,500, as naive
    local time does where the clock springs forward (01:55, then 03:00)."""
    values = noisy(2_000, seed=5)
    ts = np.arange(2_000, dtype=np.int64) * 300 * 10**9
    ts[1_500:] += 3_600 * 10**9  # the clock skips an hour
    if squeezed:  # that hour's twelve points were converted to 03:00 (pandas shift_forward)
        ts[1_500:1_512] = ts[1_512] - 300 * 10**9
    return StreamingDetector().score(ts, values).raw_scores


def test_points_stamped_together_after_a_gap_are_no_missing_data() -> None:
    """A local clock springing forward leaves a one-hour hole in naive timestamps; converters
    that shift the nonexistent times forward stamp that hour's points all at 03:00. No
    point is missing, so nothing alarms; with the hour truly absent the gap alarms."""
    squeezed = _spring_forward(squeezed=True)
    assert squeezed[1_495:1_520].max() < 0.3
    missing = _spring_forward(squeezed=False)
    assert missing[1_501] >= 0.5 and missing[1_500] < 0.3
