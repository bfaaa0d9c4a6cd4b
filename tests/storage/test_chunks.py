"""Day chunks: splitting, timestamp codecs and the merge that makes writes idempotent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.storage._chunks import (
    DAY_NS,
    TS_RAW,
    TS_REGULAR,
    bounds_slice,
    decode_timestamps,
    decode_values,
    encode_timestamps,
    merge_points,
    split_by_day,
)

sorted_unique = st.lists(st.integers(-(2**40), 2**40), max_size=40, unique=True).map(sorted)


def test_split_by_day_cuts_at_utc_midnight_including_before_epoch() -> None:
    ts = np.array([-1, 0, DAY_NS - 1, DAY_NS, 5 * DAY_NS])
    chunks = list(split_by_day(ts, np.arange(5.0)))
    assert [c.day for c in chunks] == [-1, 0, 1, 5]
    assert [c.values.tolist() for c in chunks] == [[0.0], [1.0, 2.0], [3.0], [4.0]]


def test_split_by_day_empty_yields_nothing() -> None:
    assert list(split_by_day(np.empty(0, np.int64), np.empty(0))) == []


@pytest.mark.parametrize(
    ("ts", "codec"),
    [([5], TS_RAW), ([5, 9], TS_RAW), ([0, 60, 120, 180], TS_REGULAR), ([0, 60, 121], TS_RAW)],
)
def test_encode_timestamps_round_trip(ts: list[int], codec: int) -> None:
    array = np.array(ts, dtype=np.int64)
    used, blob = encode_timestamps(array)
    assert used == codec
    assert decode_timestamps(used, blob, len(ts)).tolist() == ts


def test_encode_timestamps_regular_is_sixteen_bytes() -> None:
    assert len(encode_timestamps(np.arange(10_080, dtype=np.int64) * 60)[1]) == 16


def test_encode_timestamps_same_ends_uneven_middle_stays_raw() -> None:
    codec, blob = encode_timestamps(np.array([0, 10, 30, 40, 60]))
    assert codec == TS_RAW
    assert decode_timestamps(codec, blob, 5).tolist() == [0, 10, 30, 40, 60]


def test_decode_timestamps_unknown_codec_rejected() -> None:
    with pytest.raises(ValueError, match="codec"):
        decode_timestamps(7, b"", 0)


def test_decode_values_round_trip() -> None:
    values = np.array([1.5, -2.0, 1e300])
    assert decode_values(values.astype("<f8").tobytes()).tolist() == values.tolist()


@given(sorted_unique, sorted_unique)
def test_merge_points_matches_dict_union_new_wins(old: list[int], new: list[int]) -> None:
    old_ts, new_ts = np.array(old, dtype=np.int64), np.array(new, dtype=np.int64)
    old_v, new_v = old_ts * 1.0, new_ts * -1.0
    ts, values = merge_points(old_ts, old_v, new_ts, new_v)
    expected = dict(zip(old, old_v.tolist(), strict=True))
    expected.update(zip(new, new_v.tolist(), strict=True))
    assert ts.tolist() == sorted(expected)
    assert values.tolist() == [expected[t] for t in sorted(expected)]


@given(sorted_unique, st.integers(-(2**41), 2**41), st.integers(0, 2**41))
def test_bounds_slice_inclusive(ts: list[int], start: int, width: int) -> None:
    array = np.array(ts, dtype=np.int64)
    inside = array[bounds_slice(array, start, start + width)].tolist()
    assert inside == [t for t in ts if start <= t <= start + width]
