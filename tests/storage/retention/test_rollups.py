from __future__ import annotations

import numpy as np
import pytest

from backend.storage.retention import (
    Rollup,
    decode_rollup,
    encode_rollup,
    merge_rollups,
    stitch_tiers,
    summarise,
    tier_days,
)

NS = 10**9


def _random_points(seed: int, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.choice(np.arange(0, 86_400 * 2), size=n, replace=False)).astype(np.int64) * NS
    return ts, rng.normal(50, 20, n)


def _naive(ts: np.ndarray, values: np.ndarray, resolution_s: int) -> dict[int, tuple[float, ...]]:
    groups: dict[int, list[float]] = {}
    for t, v in zip(ts.tolist(), values.tolist(), strict=True):
        groups.setdefault(t // (resolution_s * NS) * resolution_s * NS, []).append(v)
    return {b: (len(g), min(g), max(g), sum(g) / len(g)) for b, g in groups.items()}


def _as_dict(rollup: Rollup) -> dict[int, tuple[float, ...]]:
    columns = (rollup.count, rollup.min, rollup.max, rollup.mean)
    return {int(b): tuple(float(c[i]) for c in columns) for i, b in enumerate(rollup.bucket_ns)}


@pytest.mark.parametrize("resolution_s", [300, 3600])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_summarise_matches_naive_grouping(resolution_s: int, seed: int) -> None:
    ts, values = _random_points(seed)
    got, want = _as_dict(summarise(ts, values, resolution_s)), _naive(ts, values, resolution_s)
    assert got.keys() == want.keys()
    for bucket, stats in want.items():
        np.testing.assert_allclose(got[bucket], stats, rtol=1e-12)


def test_summarise_empty_gives_empty_rollup() -> None:
    assert len(summarise(np.empty(0, np.int64), np.empty(0), 300)) == 0


@pytest.mark.parametrize("split", [1, 137, 250, 499])
def test_merge_rollups_equals_summary_of_union(split: int) -> None:
    ts, values = _random_points(7)
    left = summarise(ts[:split], values[:split], 300)
    right = summarise(ts[split:], values[split:], 300)
    merged, whole = _as_dict(merge_rollups(left, right)), _as_dict(summarise(ts, values, 300))
    assert merged.keys() == whole.keys()
    for bucket, stats in whole.items():
        np.testing.assert_allclose(merged[bucket], stats, rtol=1e-12)


def test_encode_rollup_round_trips_exactly() -> None:
    ts, values = _random_points(3)
    rollup = summarise(ts, values, 300)
    back = decode_rollup(encode_rollup(rollup))
    for name in ("bucket_ns", "count", "min", "max", "mean"):
        np.testing.assert_array_equal(getattr(back, name), getattr(rollup, name))


def test_tier_days_never_overlap_and_cover_the_range() -> None:
    for raw_from, five_from in [(50, 20), (50, None), (50, 70), (None, None), (5, 2)]:
        tiers = tier_days(0, 100, raw_from, five_from)
        covered = [
            d for lo, hi in (tiers.hourly, tiers.five_minute, tiers.raw) for d in range(lo, hi + 1)
        ]
        assert sorted(covered) == list(range(101)), (raw_from, five_from)


def test_stitch_tiers_orders_hourly_then_five_minute_then_raw() -> None:
    hourly = summarise(np.array([0, 10]) * NS, np.array([1.0, 3.0]), 3600)
    five = summarise(np.array([86_400, 86_460]) * NS, np.array([5.0, 7.0]), 300)
    ts, values = stitch_tiers(hourly, five, (np.array([2 * 86_400 * NS]), np.array([9.0])))
    assert ts.tolist() == [0, 86_400 * NS, 2 * 86_400 * NS]
    assert values.tolist() == [2.0, 6.0, 9.0]
