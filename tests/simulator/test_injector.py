"""AnomalyInjector: each kind's effect, its metadata, bounds, and no mutation of the input."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.analytics.types import MetricSeries
from backend.errors import ValidationError
from backend.simulator.baseline import MetricSimulator
from backend.simulator.config import SimulatorConfig
from backend.simulator.injector import AnomalyInjector, series_bounds, series_std

T0 = datetime(2024, 1, 1)


def _cpu(n: int = 600) -> MetricSeries:
    return MetricSimulator(SimulatorConfig(seed=3)).generate("t", "c", "n", "cpu_usage", n, T0)


def _flat(values: list[float], metric: str = "queue") -> MetricSeries:
    stamps = [T0 + timedelta(minutes=i) for i in range(len(values))]
    return MetricSeries("t", "c", "n", metric, stamps, values)


def _snapshot(series: MetricSeries) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    return series.values_array.copy(), series.timestamps_ns.copy(), copy.deepcopy(series.metadata)


def _assert_unchanged(series: MetricSeries, snap: tuple[np.ndarray, np.ndarray, dict]) -> None:
    assert np.array_equal(series.values_array, snap[0])
    assert np.array_equal(series.timestamps_ns, snap[1])
    assert series.metadata == snap[2]


def _check_window_metadata(series: MetricSeries, meta: dict[str, object]) -> None:
    start, end = meta["start_index"], meta["end_index"]
    assert isinstance(start, int) and isinstance(end, int) and start <= end
    assert meta["start_time"] == series.timestamps[start]
    assert meta["end_time"] == series.timestamps[end]
    assert isinstance(meta["parameters"], dict)


def test_inject_spike_raises_window_by_magnitude_std() -> None:
    series = _cpu()
    snap = _snapshot(series)
    spiked, meta = AnomalyInjector.inject_spike(series, 400, magnitude=3.0, duration=3)
    _assert_unchanged(series, snap)
    delta = spiked.values_array - series.values_array
    expected = 3.0 * float(np.std(series.values_array))
    assert np.allclose(delta[400:403], expected)
    assert not delta[:400].any() and not delta[403:].any()
    assert (meta["kind"], meta["label"], meta["start_index"], meta["end_index"]) == (
        "spike",
        "spike",
        400,
        402,
    )
    _check_window_metadata(series, meta)
    assert spiked.metadata["anomalies"] == [meta]


def test_inject_spike_negative_magnitude_is_dip() -> None:
    series = _flat([50.0, 52.0, 48.0, 50.0, 51.0, 49.0])
    dipped, meta = AnomalyInjector.inject_spike(series, 2, magnitude=-4.0, duration=1)
    assert meta["kind"] == "dip" and meta["label"] == "spike"
    assert dipped.values[2] < series.values[2] - 3 * np.std(series.values_array)


def test_inject_spike_window_past_end_is_cut() -> None:
    series = _cpu(50)
    _, meta = AnomalyInjector.inject_spike(series, 48, duration=5)
    assert meta["end_index"] == 49 and meta["parameters"]["duration"] == 2


def test_inject_spike_near_ceiling_flips_to_visible_dip() -> None:
    series = _flat([98.0, 97.0, 99.0, 98.0, 97.0, 98.0], metric="cpu_usage")
    result, meta = AnomalyInjector.inject_spike(series, 3, magnitude=10.0, duration=1)
    assert result.values_array.max() <= 100.0
    assert meta["kind"] == "dip" and meta["parameters"]["direction_flipped"] is True
    assert result.values[3] < series.values[3] - 2


def test_inject_respects_metadata_bounds_over_profile() -> None:
    series = _cpu(200)
    bounded = series.with_arrays(series.timestamps_ns, series.values_array)
    assert series_bounds(bounded) == (0.0, 100.0)
    unbounded = MetricSeries.from_arrays(
        series.key, series.timestamps_ns, series.values_array, {"lower": None, "upper": None}
    )
    result, _ = AnomalyInjector.inject_level_shift(unbounded, 100, shift_amount=500.0)
    assert result.values_array.max() > 100.0


def test_inject_trend_grows_linearly_from_start() -> None:
    series = _flat([10.0] * 20)
    snap = _snapshot(series)
    drifted, meta = AnomalyInjector.inject_trend(series, 5, slope=0.5)
    _assert_unchanged(series, snap)
    delta = drifted.values_array - series.values_array
    assert not delta[:5].any()
    assert np.allclose(delta[5:], 0.5 * np.arange(1, 16))
    assert (meta["kind"], meta["label"], meta["start_index"], meta["end_index"]) == (
        "drift",
        "trend",
        5,
        19,
    )
    _check_window_metadata(series, meta)


def test_inject_trend_clipped_at_bound_stays_visible() -> None:
    series = _cpu(300)
    drifted, _ = AnomalyInjector.inject_trend(series, 100, slope=1.0)
    assert drifted.values_array.max() <= 100.0
    assert drifted.values_array[-50:].mean() > series.values_array[-50:].mean() + 20


def test_inject_level_shift_adds_constant_to_end() -> None:
    series = _flat([5.0] * 10)
    shifted, meta = AnomalyInjector.inject_level_shift(series, 4, shift_amount=20.0)
    assert shifted.values == [5.0] * 4 + [25.0] * 6
    assert (meta["kind"], meta["label"], meta["start_index"], meta["end_index"]) == (
        "level_shift",
        "trend",
        4,
        9,
    )
    assert series.values == [5.0] * 10


def test_inject_level_shift_negative_counter_flips_up() -> None:
    series = _flat([5.0, 6.0, 5.0, 6.0, 5.0, 6.0], metric="disk_io")
    shifted, meta = AnomalyInjector.inject_level_shift(series, 2, shift_amount=-50.0)
    assert shifted.values_array.min() >= 0.0
    assert shifted.values_array[2:].mean() > 50.0
    assert meta["parameters"]["direction_flipped"] is True


def test_inject_missing_removes_points_leaving_gap() -> None:
    series = _cpu(100)
    snap = _snapshot(series)
    holed, meta = AnomalyInjector.inject_missing(series, 40, 10)
    _assert_unchanged(series, snap)
    assert holed.length == 90
    gap = np.diff(holed.timestamps_ns).max()
    assert gap == 11 * 60 * 10**9
    assert (meta["kind"], meta["start_index"], meta["end_index"]) == ("missing_data", 40, 49)
    _check_window_metadata(series, meta)
    removed = (holed.timestamps_ns >= series.timestamps_ns[40]) & (
        holed.timestamps_ns <= series.timestamps_ns[49]
    )
    assert not removed.any()


def test_inject_seasonal_change_adds_periodic_component() -> None:
    series = _flat([50.0 + (i % 2) for i in range(200)])
    changed, meta = AnomalyInjector.inject_seasonal_change(
        series, 100, period_points=20, amplitude=2.0, duration=80
    )
    delta = changed.values_array - series.values_array
    assert not delta[:100].any() and not delta[180:].any()
    window = delta[100:180]
    assert np.allclose(window[:20], window[20:40])  # repeats every period
    spectrum = np.abs(np.fft.rfft(window))
    assert int(np.argmax(spectrum)) == 80 // 20  # four cycles in the window
    assert (meta["kind"], meta["label"], meta["start_index"], meta["end_index"]) == (
        "seasonal",
        "seasonal",
        100,
        179,
    )


def test_injections_accumulate_ground_truth() -> None:
    series = _cpu(300)
    once, first = AnomalyInjector.inject_spike(series, 100)
    twice, second = AnomalyInjector.inject_level_shift(once, 200, 5.0)
    assert twice.metadata["anomalies"] == [first, second]
    assert once.metadata["anomalies"] == [first]
    assert series.metadata["anomalies"] == []


def test_inject_returned_metadata_is_independent_of_series() -> None:
    result, meta = AnomalyInjector.inject_spike(_cpu(50), 10)
    meta["kind"] = "changed"
    assert result.metadata["anomalies"][0]["kind"] == "spike"


def test_inject_keeps_aware_timestamps() -> None:
    sim = MetricSimulator(SimulatorConfig(seed=1))
    series = sim.generate("t", "c", "n", "cpu_usage", 50, datetime(2024, 1, 1, tzinfo=UTC))
    result, meta = AnomalyInjector.inject_missing(series, 10, 5)
    assert result.aware and meta["start_time"].tzinfo is not None


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: AnomalyInjector.inject_spike(s, 50), "spike_index"),
        (lambda s: AnomalyInjector.inject_spike(s, -1), "spike_index"),
        (lambda s: AnomalyInjector.inject_spike(s, 1.5), "spike_index"),
        (lambda s: AnomalyInjector.inject_spike(s, 1, duration=0), "duration"),
        (lambda s: AnomalyInjector.inject_spike(s, 1, magnitude=float("nan")), "magnitude"),
        (lambda s: AnomalyInjector.inject_trend(s, 99), "start_index"),
        (lambda s: AnomalyInjector.inject_trend(s, True), "start_index"),
        (lambda s: AnomalyInjector.inject_level_shift(s, 60), "shift_index"),
        (lambda s: AnomalyInjector.inject_missing(s, 45, 10), "length"),
        (lambda s: AnomalyInjector.inject_missing(s, 5, 0), "length"),
        (lambda s: AnomalyInjector.inject_missing(s, 50, 1), "start_index"),
        (lambda s: AnomalyInjector.inject_seasonal_change(s, 10, period_points=1), "period_points"),
        (lambda s: AnomalyInjector.inject_seasonal_change(s, 70), "start_index"),
    ],
)
def test_inject_bad_argument_raises_naming_parameter(call: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        call(_cpu(50))  # type: ignore[operator]
    assert caught.value.field == field


def test_series_std_constant_series_falls_back() -> None:
    assert series_std(np.array([0.0, 0.0])) == 1.0
    assert series_std(np.array([200.0, 200.0])) == 20.0


def test_inject_spikes_matches_single_spike_per_index() -> None:
    series = _cpu(200)
    snap = _snapshot(series)
    many, metas = AnomalyInjector.inject_spikes(series, [150, 60, 120], magnitude=4.0)
    _assert_unchanged(series, snap)
    assert [m["start_index"] for m in metas] == [60, 120, 150]
    for meta in metas:
        single, one = AnomalyInjector.inject_spike(series, meta["start_index"], 4.0, duration=1)
        index = meta["start_index"]
        assert many.values[index] == single.values[index]
        assert meta == one
    untouched = np.setdiff1d(np.arange(200), [60, 120, 150])
    assert np.array_equal(many.values_array[untouched], series.values_array[untouched])
    assert many.metadata["anomalies"] == metas


def test_inject_spikes_empty_indices_changes_nothing() -> None:
    series = _cpu(20)
    result, metas = AnomalyInjector.inject_spikes(series, [])
    assert metas == [] and np.array_equal(result.values_array, series.values_array)


@pytest.mark.parametrize("indices", [[1, 1], [0, 20], [-1], [1.5], [[1, 2]]])
def test_inject_spikes_bad_indices_name_parameter(indices: list[object]) -> None:
    with pytest.raises(ValidationError) as caught:
        AnomalyInjector.inject_spikes(_cpu(20), indices)  # type: ignore[arg-type]
    assert caught.value.field == "spike_indices"
