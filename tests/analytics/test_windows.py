"""Windows: exact index ranges, partial and short series, time grids with gaps, bad params."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.analytics.types import MetricSeries
from backend.analytics.windows import (
    SlidingWindowExtractor,
    TimeBasedWindowExtractor,
    TimeWindow,
)
from backend.errors import ValidationError

T0 = datetime(2024, 3, 1, 12, 0)


def make_series(minutes: list[float], aware: bool = False) -> MetricSeries:
    start = T0.replace(tzinfo=UTC) if aware else T0
    stamps = [start + timedelta(minutes=m) for m in minutes]
    return MetricSeries(
        "t1", "c1", "n1", "cpu_usage", stamps, [float(i) for i in range(len(stamps))]
    )


def spans(windows: list[TimeWindow]) -> list[tuple[int, int]]:
    return [(w.start_idx, w.end_idx) for w in windows]


# --- TimeWindow ---------------------------------------------------------------------------


def test_time_window_size_is_exclusive_end_minus_start() -> None:
    window = TimeWindow(2, 7, T0, T0 + timedelta(minutes=4), 0)
    assert window.size == 5
    assert list(range(10))[window.as_slice()] == [2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("start", "end", "number", "field"),
    [
        (-1, 3, 0, "start_idx"),
        (3, 3, 0, "end_idx"),
        (4, 2, 0, "end_idx"),
        (0, 2, -1, "window_number"),
    ],
)
def test_time_window_rejects_bad_indices(start: int, end: int, number: int, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        TimeWindow(start, end, T0, T0, number)
    assert info.value.field == field


def test_time_window_rejects_end_time_before_start_time() -> None:
    with pytest.raises(ValidationError) as info:
        TimeWindow(0, 2, T0, T0 - timedelta(seconds=1), 0)
    assert info.value.field == "end_time"


# --- SlidingWindowExtractor ---------------------------------------------------------------


def test_sliding_default_stride_is_window_size_non_overlapping() -> None:
    extractor = SlidingWindowExtractor(window_size_points=4)
    assert extractor.stride_points == 4
    assert spans(extractor.extract(make_series(list(range(10))))) == [(0, 4), (4, 8)]


def test_sliding_defaults_match_documented_signature() -> None:
    extractor = SlidingWindowExtractor()
    assert extractor.config == {
        "window_size_points": 100,
        "stride_points": 100,
        "include_partial_windows": False,
    }


def test_sliding_config_round_trips_to_an_equivalent_extractor() -> None:
    extractor = SlidingWindowExtractor(5, 2, include_partial_windows=True)
    clone = SlidingWindowExtractor(**extractor.config)
    series = make_series(list(range(13)))
    assert spans(clone.extract(series)) == spans(extractor.extract(series))


def test_sliding_overlapping_stride_gives_exact_ranges() -> None:
    windows = SlidingWindowExtractor(3, stride_points=2).extract(make_series(list(range(10))))
    assert spans(windows) == [(0, 3), (2, 5), (4, 7), (6, 9)]
    assert [w.window_number for w in windows] == [0, 1, 2, 3]


def test_sliding_stride_larger_than_window_skips_points_between() -> None:
    series = make_series(list(range(11)))
    assert spans(SlidingWindowExtractor(2, stride_points=5).extract(series)) == [(0, 2), (5, 7)]
    with_partial = SlidingWindowExtractor(2, 5, include_partial_windows=True)
    assert spans(with_partial.extract(series)) == [(0, 2), (5, 7), (10, 11)]


def test_sliding_partial_adds_one_trailing_window_with_the_rest() -> None:
    series = make_series(list(range(10)))
    windows = SlidingWindowExtractor(4, include_partial_windows=True).extract(series)
    assert spans(windows) == [(0, 4), (4, 8), (8, 10)]
    assert windows[-1].size == 2


def test_sliding_partial_with_overlap_adds_only_the_uncovered_tail() -> None:
    series = make_series(list(range(11)))
    windows = SlidingWindowExtractor(4, 3, include_partial_windows=True).extract(series)
    assert spans(windows) == [(0, 4), (3, 7), (6, 10), (9, 11)]


def test_sliding_partial_not_added_when_full_windows_cover_everything() -> None:
    series = make_series(list(range(10)))
    windows = SlidingWindowExtractor(4, 3, include_partial_windows=True).extract(series)
    assert spans(windows) == [(0, 4), (3, 7), (6, 10)]


def test_sliding_short_series_yields_no_window_without_partial() -> None:
    assert SlidingWindowExtractor(5).extract(make_series([0, 1, 2])) == []


def test_sliding_short_series_yields_one_partial_window_when_allowed() -> None:
    series = make_series([0, 1, 2])
    windows = SlidingWindowExtractor(5, 1, include_partial_windows=True).extract(series)
    assert spans(windows) == [(0, 3)]


@pytest.mark.parametrize("partial", [False, True])
def test_sliding_empty_series_yields_no_window(partial: bool) -> None:
    series = MetricSeries("t1", "c1", "n1", "cpu_usage", [], [])
    assert SlidingWindowExtractor(3, include_partial_windows=partial).extract(series) == []


def test_sliding_exact_multiple_has_no_partial_window() -> None:
    series = make_series(list(range(8)))
    windows = SlidingWindowExtractor(4, include_partial_windows=True).extract(series)
    assert spans(windows) == [(0, 4), (4, 8)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"window_size_points": 0}, "window_size_points"),
        ({"window_size_points": -3}, "window_size_points"),
        ({"window_size_points": 2.5}, "window_size_points"),
        ({"window_size_points": True}, "window_size_points"),
        ({"window_size_points": 4, "stride_points": 0}, "stride_points"),
        ({"window_size_points": 4, "stride_points": -1}, "stride_points"),
        ({"window_size_points": 4, "stride_points": "2"}, "stride_points"),
    ],
)
def test_sliding_bad_params_raise_validation_error_naming_param(
    kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        SlidingWindowExtractor(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_sliding_window_times_are_first_and_last_point_naive() -> None:
    series = make_series(list(range(6)))
    window = SlidingWindowExtractor(3).extract(series)[1]
    assert window.start_time == T0 + timedelta(minutes=3)
    assert window.end_time == T0 + timedelta(minutes=5)
    assert window.start_time.tzinfo is None


def test_sliding_window_times_echo_aware_series() -> None:
    series = make_series(list(range(6)), aware=True)
    window = SlidingWindowExtractor(3).extract(series)[0]
    assert window.start_time == T0.replace(tzinfo=UTC)
    assert window.end_time.tzinfo is not None


def test_extract_window_data_returns_the_window_points() -> None:
    series = make_series(list(range(10)))
    extractor = SlidingWindowExtractor(4, 3)
    window = extractor.extract(series)[1]
    timestamps, values = extractor.extract_window_data(series, window)
    assert len(timestamps) == len(values) == 4
    assert values == [3.0, 4.0, 5.0, 6.0]
    assert timestamps[0] == window.start_time and timestamps[-1] == window.end_time
    np.testing.assert_array_equal(np.asarray(values), series.values_array[3:7])


def test_extract_window_data_rejects_window_beyond_series() -> None:
    series = make_series(list(range(5)))
    window = TimeWindow(3, 8, T0, T0 + timedelta(minutes=7), 0)
    with pytest.raises(ValidationError) as info:
        SlidingWindowExtractor(5).extract_window_data(series, window)
    assert info.value.field == "window.end_idx"


def test_sliding_extract_is_deterministic() -> None:
    series = make_series(list(range(50)))
    extractor = SlidingWindowExtractor(7, 3, include_partial_windows=True)
    assert extractor.extract(series) == extractor.extract(series)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 60),
    size=st.integers(1, 12),
    stride=st.integers(1, 12),
    partial=st.booleans(),
)
def test_sliding_windows_in_bounds_and_cover_when_stride_fits(
    n: int, size: int, stride: int, partial: bool
) -> None:
    starts, ends = SlidingWindowExtractor(size, stride, partial).bounds(n)
    assert np.all(starts >= 0) and np.all(ends <= n) and np.all(ends > starts)
    assert np.all(np.diff(starts) == stride)
    full = ends - starts == size
    assert full[:-1].all() if full.size else True
    if partial and stride <= size and n > 0:
        covered = np.zeros(n, dtype=bool)
        for s, e in zip(starts, ends, strict=True):
            covered[s:e] = True
        assert covered.all()


# --- TimeBasedWindowExtractor ------------------------------------------------------------


def test_time_based_regular_series_last_window_on_time_is_full() -> None:
    windows = TimeBasedWindowExtractor(timedelta(minutes=10)).extract(make_series(list(range(60))))
    assert spans(windows) == [(i, i + 10) for i in range(0, 60, 10)]
    assert windows[-1].end_time == T0 + timedelta(minutes=59)


def test_time_based_overlapping_stride_skips_redundant_partial() -> None:
    series = make_series(list(range(60)))
    extractor = TimeBasedWindowExtractor(
        timedelta(minutes=10), timedelta(minutes=5), include_partial_windows=True
    )
    assert spans(extractor.extract(series)) == [(i, i + 10) for i in range(0, 55, 5)]


def test_time_based_windows_inside_gaps_are_skipped() -> None:
    series = make_series([*range(10), *range(30, 40)])
    windows = TimeBasedWindowExtractor(timedelta(minutes=5)).extract(series)
    assert spans(windows) == [(0, 5), (5, 10), (10, 15), (15, 20)]
    assert windows[2].start_time == T0 + timedelta(minutes=30)
    assert [w.window_number for w in windows] == [0, 1, 2, 3]


def test_time_based_trailing_window_past_the_data_is_partial() -> None:
    series = make_series([*range(10), 12, 13])
    duration = timedelta(minutes=5)
    assert spans(TimeBasedWindowExtractor(duration).extract(series)) == [(0, 5), (5, 10)]
    with_partial = TimeBasedWindowExtractor(duration, include_partial_windows=True)
    assert spans(with_partial.extract(series)) == [(0, 5), (5, 10), (10, 12)]


def test_time_based_stride_longer_than_window_leaves_points_out() -> None:
    series = make_series(list(range(20)))
    extractor = TimeBasedWindowExtractor(timedelta(minutes=2), timedelta(minutes=5))
    assert spans(extractor.extract(series)) == [(0, 2), (5, 7), (10, 12), (15, 17)]


def test_time_based_short_series_needs_partial_for_one_window() -> None:
    series = make_series([0, 1, 2])
    assert TimeBasedWindowExtractor(timedelta(hours=1)).extract(series) == []
    extractor = TimeBasedWindowExtractor(timedelta(hours=1), include_partial_windows=True)
    assert spans(extractor.extract(series)) == [(0, 3)]


def test_time_based_single_point_is_a_partial_window() -> None:
    series = make_series([0])
    assert TimeBasedWindowExtractor(timedelta(minutes=1)).extract(series) == []
    extractor = TimeBasedWindowExtractor(timedelta(minutes=1), include_partial_windows=True)
    assert spans(extractor.extract(series)) == [(0, 1)]


@pytest.mark.parametrize("partial", [False, True])
def test_time_based_empty_series_yields_no_window(partial: bool) -> None:
    series = MetricSeries("t1", "c1", "n1", "cpu_usage", [], [])
    extractor = TimeBasedWindowExtractor(timedelta(minutes=5), include_partial_windows=partial)
    assert extractor.extract(series) == []


def test_time_based_window_times_echo_aware_series() -> None:
    series = make_series(list(range(10)), aware=True)
    window = TimeBasedWindowExtractor(timedelta(minutes=5)).extract(series)[1]
    assert window.start_time == T0.replace(tzinfo=UTC) + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"window_duration": timedelta(0)}, "window_duration"),
        ({"window_duration": timedelta(seconds=-5)}, "window_duration"),
        ({"window_duration": 300}, "window_duration"),
        (
            {"window_duration": timedelta(minutes=5), "stride_duration": timedelta(0)},
            "stride_duration",
        ),
        ({"window_duration": timedelta(minutes=5), "stride_duration": 60}, "stride_duration"),
    ],
)
def test_time_based_bad_params_raise_validation_error_naming_param(
    kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        TimeBasedWindowExtractor(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_time_based_config_round_trips() -> None:
    extractor = TimeBasedWindowExtractor(timedelta(minutes=5), None, True)
    assert extractor.config["stride_duration"] == timedelta(minutes=5)
    series = make_series([*range(7), *range(20, 23)])
    clone = TimeBasedWindowExtractor(**extractor.config)
    assert clone.extract(series) == extractor.extract(series)


def brute_force_time_windows(
    ts: np.ndarray, duration: int, stride: int, partial: bool
) -> list[tuple[int, int]]:
    """Reference: walk every grid window, keep non-empty ones, apply the partial rule."""
    step = int(np.median(np.diff(ts))) if ts.size > 1 else 0
    full: list[tuple[int, int]] = []
    partials: list[tuple[int, int]] = []
    k = 0
    while ts[0] + k * stride <= ts[-1]:
        lo, hi = ts[0] + k * stride, ts[0] + k * stride + duration
        idx = np.flatnonzero((ts >= lo) & (ts < hi))
        if idx.size:
            span = (int(idx[0]), int(idx[-1]) + 1)
            (full if hi <= ts[-1] + step else partials).append(span)
        k += 1
    covered = max((e for _, e in full), default=0)
    if partial and partials and partials[0][1] > covered:
        full.append(partials[0])
    return sorted(full)


@settings(max_examples=80, deadline=None)
@given(
    gaps=st.lists(st.integers(1, 9), min_size=0, max_size=40),
    duration=st.integers(1, 15),
    stride=st.integers(1, 15),
    partial=st.booleans(),
)
def test_time_based_matches_brute_force_reference(
    gaps: list[int], duration: int, stride: int, partial: bool
) -> None:
    minutes = np.concatenate([[0], np.cumsum(gaps)]).astype(float)
    series = make_series(minutes.tolist())
    extractor = TimeBasedWindowExtractor(
        timedelta(minutes=duration), timedelta(minutes=stride), partial
    )
    expected = brute_force_time_windows(
        series.timestamps_ns, duration * 60_000_000_000, stride * 60_000_000_000, partial
    )
    assert spans(extractor.extract(series)) == expected
