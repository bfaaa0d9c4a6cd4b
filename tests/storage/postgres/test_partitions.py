from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from backend.analytics._timeconv import to_epoch_ns, utc_now
from backend.analytics.types import AnomalyResult, MetricSeries, SeriesKey
from backend.storage.postgres import DEFAULT_PARTITIONS_AHEAD_DAYS, PostgresStorage
from backend.storage.postgres.connection import connect
from backend.storage.postgres.partitions import PartitionManager, partition_name

pytestmark = pytest.mark.postgres

DAY_NS = 86_400 * 10**9
MINUTE_NS = 60 * 10**9


def _days(url: str) -> set[int]:
    with connect(url) as conn:
        return {lo for lo, hi in PartitionManager().refresh(conn) if hi == lo + 1}


def _minutes(key: SeriesKey, start: datetime, count: int) -> MetricSeries:
    ts = to_epoch_ns(start) + np.arange(count, dtype=np.int64) * MINUTE_NS
    return MetricSeries.from_arrays(key, ts, np.sin(np.arange(count) / 10.0))


def test_open_creates_daily_partitions_ahead(pg_storage: PostgresStorage, pg_url: str) -> None:
    today = to_epoch_ns(utc_now()) // DAY_NS
    expected = set(range(today - 1, today + DEFAULT_PARTITIONS_AHEAD_DAYS + 1))
    assert expected <= _days(pg_url)


def test_store_metrics_far_day_creates_its_partition(
    pg_storage: PostgresStorage, pg_url: str
) -> None:
    key = SeriesKey("t1", "c1", "n1", "cpu")
    pg_storage.store_metrics([_minutes(key, datetime(1999, 12, 31, 23, 0), 120)])
    day = to_epoch_ns(datetime(1999, 12, 31)) // DAY_NS
    assert {day, day + 1} <= _days(pg_url)
    assert pg_storage.get_metric_series(*key).length == 120


def test_store_metrics_partition_dropped_by_other_process_recreated(
    pg_storage: PostgresStorage, pg_url: str
) -> None:
    key = SeriesKey("t1", "c1", "n1", "cpu")
    pg_storage.store_metrics([_minutes(key, datetime(2001, 5, 5), 10)])
    day = to_epoch_ns(datetime(2001, 5, 5)) // DAY_NS
    with connect(pg_url) as conn:
        conn.execute(f"DROP TABLE {partition_name(day)}")
    pg_storage.store_metrics(
        [_minutes(SeriesKey("t1", "c1", "n2", "cpu"), datetime(2001, 5, 5), 5)]
    )
    assert day in _days(pg_url)
    assert pg_storage.get_metric_series("t1", "c1", "n2", "cpu").length == 5


def test_store_metrics_one_row_per_series_and_day(pg_storage: PostgresStorage, pg_url: str) -> None:
    keys = [SeriesKey("t1", "c1", f"n{i}", "cpu") for i in range(3)]
    start = datetime(2024, 1, 1)
    pg_storage.store_metrics([_minutes(k, start, 3 * 1440) for k in keys])
    pg_storage.store_metrics([_minutes(k, start + timedelta(hours=1), 60) for k in keys])
    with connect(pg_url) as conn:
        rows = conn.execute("SELECT count(*), sum(n) FROM point_chunks").fetchone()
    assert rows == (9, 9 * 1440)


def test_read_one_series_range_touches_only_its_day_partitions(
    pg_storage: PostgresStorage, pg_url: str
) -> None:
    key = SeriesKey("t1", "c1", "n1", "cpu")
    pg_storage.store_metrics([_minutes(key, datetime(2024, 1, 1), 20 * 1440)])
    first = to_epoch_ns(datetime(2024, 1, 8)) // DAY_NS
    with connect(pg_url) as conn:
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                "EXPLAIN SELECT n, ts_codec, ts, vals FROM point_chunks WHERE tenant_id = 't1' "
                "AND series_id = 1 AND day BETWEEN %s AND %s ORDER BY day",
                (first, first + 6),
            ).fetchall()
        )
    scanned = {name for name in plan.split() if name.startswith("point_chunks_p")}
    expected = {partition_name(first + i) for i in range(7)}
    assert scanned == expected | {f"{name}_pkey" for name in expected}


def test_latest_anomalies_of_tenant_use_the_index(pg_storage: PostgresStorage, pg_url: str) -> None:
    start = datetime(2024, 1, 1)
    results = [
        AnomalyResult("t1", "c1", f"n{i % 50}", "cpu", start + timedelta(minutes=i),
                      start + timedelta(minutes=i + 5), (i % 10) / 10, "spike")
        for i in range(2000)
    ]  # fmt: skip
    pg_storage.store_anomaly_results("t1", results)
    with connect(pg_url) as conn:
        conn.execute("ANALYZE anomaly_results")
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                "EXPLAIN SELECT id FROM anomaly_results WHERE tenant_id = 't1' "
                "AND anomaly_score >= 0.5 ORDER BY window_start DESC, id DESC LIMIT 100"
            ).fetchall()
        )
    assert "anomaly_results_latest" in plan
    latest = pg_storage.query_anomalies("t1", limit=100, newest_first=True)
    assert len(latest) == 100 and latest[0]["window_start"] == start + timedelta(minutes=1999)
