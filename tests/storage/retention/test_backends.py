"""The retention policy applied to real backends: PostgreSQL and the embedded SQLite default.

The clock is pinned: "now" is 2024-03-01, raw points are kept 30 days (from 2024-01-31 on), and
one series holds minute data from 2024-01-20 to 2024-02-10.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.types import MetricSeries, SeriesKey
from backend.storage import StorageBackend
from backend.storage._checks import time_bounds
from backend.storage.retention import (
    RetentionJob,
    RetentionPolicy,
    RetentionReport,
    retention_store_for,
    run_retention,
)
from backend.storage.sqlite import SQLiteStorage
from backend.storage.sqlite_retention import read_series_with_rollups

NOW = datetime(2024, 3, 1, tzinfo=UTC)
START = datetime(2024, 1, 20)
DAYS = 22
KEY = SeriesKey("t1", "c1", "n1", "cpu")
MINUTE_NS = 60 * 10**9
DAY_NS = 86_400 * 10**9
CUTOFF = datetime(2024, 1, 31)  # NOW - 30 days


@dataclass
class Backend:
    """A store under test and how to read a series from it across retention tiers."""

    storage: StorageBackend
    read: Callable[[SeriesKey], MetricSeries]
    partitioned: bool


def _postgres() -> Backend:
    from backend.storage.postgres import PostgresStorage
    from tests.storage.postgres_support import fresh_store_url

    storage = PostgresStorage(fresh_store_url())
    return Backend(storage, lambda key: storage.get_metric_series(*key), True)


def _sqlite(tmp_path: Path) -> Backend:
    storage = SQLiteStorage(tmp_path / "store.db")

    def read(key: SeriesKey) -> MetricSeries:
        with storage._read() as conn:
            return read_series_with_rollups(conn, key, time_bounds(None, None))

    return Backend(storage, read, False)


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = _postgres() if request.param == "postgres" else _sqlite(tmp_path)
    try:
        yield made
    finally:
        made.storage.close()


def _minutes(key: SeriesKey = KEY, start: datetime = START, days: int = DAYS) -> MetricSeries:
    count = days * 1440
    ts = to_epoch_ns(start) + np.arange(count, dtype=np.int64) * MINUTE_NS
    return MetricSeries.from_arrays(key, ts, np.arange(count, dtype=np.float64) % 97)


def _run(backend: Backend, **policy: object) -> RetentionReport:
    store = retention_store_for(backend.storage)
    return run_retention(store, RetentionPolicy(**policy), NOW)  # type: ignore[arg-type]


def test_retention_old_days_read_as_five_minute_means(backend: Backend) -> None:
    original = _minutes()
    backend.storage.store_metrics([original])
    report = _run(backend)
    assert report.days_rolled_up == 11 and report.points_rolled_up == 11 * 1440
    got = backend.read(KEY)
    old = got.timestamps_ns < to_epoch_ns(CUTOFF)
    assert old.sum() == 11 * 288
    np.testing.assert_array_equal(got.timestamps_ns[old] % (300 * 10**9), 0)
    expected_means = original.values_array[: 11 * 1440].reshape(-1, 5).mean(axis=1)
    np.testing.assert_allclose(got.values_array[old], expected_means)
    np.testing.assert_array_equal(got.timestamps_ns[~old], original.timestamps_ns[11 * 1440 :])
    np.testing.assert_array_equal(got.values_array[~old], original.values_array[11 * 1440 :])
    assert backend.storage.get_stats()["total_points"] == 11 * 1440


def test_retention_rerun_changes_nothing(backend: Backend) -> None:
    backend.storage.store_metrics([_minutes()])
    _run(backend)
    before = backend.read(KEY)
    report = _run(backend)
    assert report.days_rolled_up == 0 and report.points_rolled_up == 0
    assert backend.read(KEY) == before


def test_retention_tenant_override_keeps_raw_longer(backend: Backend) -> None:
    other = SeriesKey("t2", "c1", "n1", "cpu")
    backend.storage.store_metrics([_minutes(), _minutes(other)])
    _run(backend, tenant_raw_days={"t2": 60})
    assert backend.read(other) == _minutes(other)
    assert backend.read(KEY).length == 11 * 288 + 11 * 1440


def test_retention_expired_five_minute_days_read_as_hourly(backend: Backend) -> None:
    backend.storage.store_metrics([_minutes()])
    _run(backend, five_minute_days=35)  # 5-minute roll-ups kept from 2024-01-26 on
    got = backend.read(KEY)
    hourly_end, five_end = to_epoch_ns(datetime(2024, 1, 26)), to_epoch_ns(CUTOFF)
    hourly = got.timestamps_ns < hourly_end
    five = (got.timestamps_ns >= hourly_end) & (got.timestamps_ns < five_end)
    assert hourly.sum() == 6 * 24 and five.sum() == 5 * 288
    assert got.length == 6 * 24 + 5 * 288 + 11 * 1440
    np.testing.assert_array_equal(np.diff(got.timestamps_ns[hourly]), 3600 * 10**9)


def test_retention_partitions_of_expired_days_dropped(backend: Backend) -> None:
    backend.storage.store_metrics([_minutes()])
    report = _run(backend)
    if not backend.partitioned:
        assert report.partitions_dropped == 0
        return
    from backend.storage.postgres import PostgresStorage
    from backend.storage.postgres.connection import connect
    from backend.storage.postgres.partitions import PartitionManager

    assert isinstance(backend.storage, PostgresStorage)
    with connect(backend.storage.url) as conn:
        days = {lo for lo, _ in PartitionManager().refresh(conn)}
    first = to_epoch_ns(START) // DAY_NS
    assert report.partitions_dropped >= 11
    assert not days & set(range(first, first + 11))  # rolled up: dropped
    assert set(range(first + 11, first + DAYS)) <= days  # still raw: kept


@pytest.mark.postgres
def test_postgres_points_before_raw_watermark_ignored(tmp_path: Path) -> None:
    backend = _postgres()
    try:
        original = _minutes()
        backend.storage.store_metrics([original])
        _run(backend)
        before = backend.read(KEY)
        report = backend.storage.store_metrics([original])
        assert report.points_written == 11 * 1440
        late_key = SeriesKey("t1", "c1", "n9", "cpu")
        backend.storage.store_metrics([_minutes(late_key, datetime(2024, 1, 10), 2)])
        _run(backend)
        assert backend.read(KEY) == before
        assert backend.read(late_key).length == 0
    finally:
        backend.storage.close()


def test_retention_job_runs_in_background(backend: Backend) -> None:
    midnight = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    backend.storage.store_metrics([_minutes(start=midnight - timedelta(days=60), days=1)])
    reports: list[RetentionReport] = []
    job = RetentionJob(
        retention_store_for(backend.storage), RetentionPolicy(), 3600, reports.append
    )
    job.start()
    try:
        deadline = time.monotonic() + 30
        while not reports and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        job.stop()
    assert reports and reports[0].points_rolled_up == 1440
    assert backend.read(KEY).length == 288


def test_sqlite_without_expired_points_drops_only_rolled_up_days(tmp_path: Path) -> None:
    from backend.storage.sqlite_retention import without_expired_points

    backend = _sqlite(tmp_path)
    try:
        backend.storage.store_metrics([_minutes()])
        _run(backend)
        assert isinstance(backend.storage, SQLiteStorage)
        with backend.storage._read() as conn:
            kept = without_expired_points(
                conn, [_minutes(), _minutes(SeriesKey("t2", "c", "n", "m"))]
            )
        assert kept[0].timestamps[0] == CUTOFF and kept[0].length == 11 * 1440
        assert kept[1] == _minutes(SeriesKey("t2", "c", "n", "m"))  # t2 never rolled up
    finally:
        backend.storage.close()


def test_batch_reads_roll_ups_as_a_single_read_does(backend: Backend) -> None:
    other = SeriesKey("t1", "c1", "n2", "cpu")
    backend.storage.store_metrics([_minutes(), _minutes(other, start=datetime(2024, 2, 2), days=3)])
    _run(backend)
    start = datetime(2024, 1, 29)  # two rolled-up days, then raw points
    batch = backend.storage.get_metric_series_batch("t1", [KEY, other], start)
    assert batch[KEY] == backend.storage.get_metric_series(*KEY, start)
    assert batch[KEY].length == 2 * 288 + 11 * 1440
    assert batch[other] == _minutes(other, start=datetime(2024, 2, 2), days=3)
