"""PostgreSQL storage: the production backend behind ``ABOUTCLOUD_DATABASE_URL=postgresql://``.

Every write is one transaction on a pooled connection and returns only after ``COMMIT`` (with
``synchronous_commit = on``), so an acknowledged write survives the application being killed.
Points are idempotent per (series, timestamp); writes that lose a race with a concurrent writer
in another process are retried as a whole. Reads of old ranges return roll-ups transparently
once retention has run (see :mod:`backend.storage.retention`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import psycopg

from backend.analytics._timeconv import to_epoch_ns, utc_now
from backend.analytics.types import (
    AggregatedAnomalyScore,
    AnomalyResult,
    MetricSeries,
    SeriesKey,
    check_id,
)
from backend.errors import SeriesNotFoundError, StorageConfigError, StorageError
from backend.storage import _checks as checks
from backend.storage._chunks import DAY_NS, bounds_slice
from backend.storage._records import (
    anomaly_dict,
    anomaly_row,
    api_key_from_row,
    api_key_row,
    score_from_row,
    score_row,
)
from backend.storage.interface import ApiKeyRecord, StorageBackend, WriteReport
from backend.storage.postgres import points, records
from backend.storage.postgres.connection import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MIN_CONNECTIONS,
    connect,
    open_pool,
    redact_url,
    storage_errors,
)
from backend.storage.postgres.migrate import migration_status, upgrade
from backend.storage.postgres.partitions import PartitionManager
from backend.storage.postgres.rollups import PostgresRetention, read_rollups, watermarks
from backend.storage.retention import stitch_tiers, tier_days

__all__ = ["DEFAULT_PARTITIONS_AHEAD_DAYS", "PostgresStorage"]

DEFAULT_PARTITIONS_AHEAD_DAYS = 7
_ATTEMPTS = 6
_T = TypeVar("_T")


class PostgresStorage(StorageBackend):
    """Storage on a PostgreSQL 13+ database (TimescaleDB used when installed).

    Parameters
    ----------
    url
        ``postgresql://user:password@host:port/dbname`` (libpq URL; ``postgres://`` and
        ``postgresql+psycopg://`` are accepted too).
    min_connections, max_connections
        Size of the connection pool shared by the threads of this process.
    migrate
        Apply pending schema migrations on open. By default an outdated schema is an error
        that says to run ``aboutcloud db upgrade``.
    partitions_ahead_days
        Daily partitions created ahead of today on open, so steady ingestion never waits for
        DDL. Days outside that window get a partition the first time a write needs one.
    """

    def __init__(
        self,
        url: str,
        min_connections: int = DEFAULT_MIN_CONNECTIONS,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        migrate: bool = False,
        partitions_ahead_days: int = DEFAULT_PARTITIONS_AHEAD_DAYS,
    ) -> None:
        self.url = url
        self.min_connections = min_connections
        self.max_connections = max_connections
        self.migrate = migrate
        self.partitions_ahead_days = partitions_ahead_days
        self._prepare_schema()
        self._pool = open_pool(url, min_connections, max_connections)
        self._partitions = PartitionManager()
        self._series_ids = points.SeriesIds()
        with self._pool.connection() as conn, storage_errors("create partitions"):
            self._partitions.refresh(conn)
            today = to_epoch_ns(utc_now()) // DAY_NS
            self._partitions.ensure(conn, range(today - 1, today + partitions_ahead_days + 1))

    def _prepare_schema(self) -> None:
        with connect(self.url) as conn, storage_errors("check the schema version"):
            if self.migrate:
                upgrade(conn)
            status = migration_status(conn)
        if not status.up_to_date:
            raise StorageConfigError(
                f"database schema is at version {status.current}, this code needs "
                f"{status.head}: run `aboutcloud db upgrade`"
            )

    # --- metric points -------------------------------------------------------------------
    def store_metrics(self, series_list: Sequence[MetricSeries]) -> WriteReport:
        """Write the batch in one transaction (retried whole on a lost race)."""
        items = checks.check_series_list(series_list)
        staged = points.stage_batch(items)
        if not staged:
            return WriteReport(0, 0)

        def write(conn: psycopg.Connection) -> dict[SeriesKey, int]:
            ids, created = self._series_ids.resolve(conn, staged)
            points.write_batch(conn, staged, ids, created)
            return ids

        with self._pool.connection() as conn:
            staged = _drop_expired_points(conn, staged)
            days = {int(d) for s in staged.values() for d in s.days}
            written = sum(int(s.timestamps_ns.size) for s in staged.values())
            self._ensure_partitions(conn, days)
            ids = self._retry(conn, write, lambda: self._ensure_partitions(conn, days, True))
        self._series_ids.commit(ids)
        return WriteReport(len(staged), written)

    def _ensure_partitions(
        self, conn: psycopg.Connection, days: Iterable[int], refresh: bool = False
    ) -> None:
        with storage_errors("create partitions"):
            if refresh:
                self._partitions.refresh(conn)
            self._partitions.ensure(conn, days)

    def _retry(
        self,
        conn: psycopg.Connection,
        work: Callable[[psycopg.Connection], _T],
        before_retry: Callable[[], object],
    ) -> _T:
        """Run ``work`` in a transaction; on a lost race roll back and run it again."""
        for attempt in range(_ATTEMPTS):
            try:
                with conn.transaction():
                    return work(conn)
            except points.RETRYABLE as exc:
                if attempt == _ATTEMPTS - 1:
                    raise StorageError(f"PostgreSQL write failed after retries: {exc}") from exc
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
                before_retry()
            except psycopg.Error as exc:
                raise StorageError(f"PostgreSQL failed to write: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def get_metric_series(
        self,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        start_time: Any = None,
        end_time: Any = None,
    ) -> MetricSeries:
        """Points with ``start_time <= t <= end_time``, ascending; roll-up means where the raw
        points have expired."""
        key = checks.check_series_key((tenant_id, cluster_id, node_id, metric_name))
        bounds = checks.time_bounds(start_time, end_time)
        first = points.MIN_DAY if bounds.start_ns is None else bounds.start_ns // DAY_NS
        last = points.MAX_DAY if bounds.end_ns is None else bounds.end_ns // DAY_NS
        with self._pool.connection() as conn, storage_errors("read a series"):
            found = points.read_series(conn, key, first, last)
            if found is None:
                raise SeriesNotFoundError(*key)
            ts, values = found.timestamps_ns, found.values
            if found.raw_from is not None and first < found.raw_from:
                ts, values = self._read_tiers(conn, key.tenant_id, found.series_id, first, last)
        cut = bounds_slice(ts, bounds.start_ns, bounds.end_ns)
        metadata = checks.decode_json(found.metadata)
        return MetricSeries.from_arrays(key, ts[cut], values[cut], metadata, bounds.aware)

    def get_metric_series_batch(
        self,
        tenant_id: str,
        keys: Sequence[SeriesKey],
        start_time: Any = None,
        end_time: Any = None,
    ) -> dict[SeriesKey, MetricSeries]:
        """Many series' raw points in one statement; a series whose range reaches into
        expired raw days is read again with its roll-ups, as :meth:`get_metric_series` does."""
        checked = checks.check_tenant_keys(tenant_id, keys)
        bounds = checks.time_bounds(start_time, end_time)
        first = points.MIN_DAY if bounds.start_ns is None else bounds.start_ns // DAY_NS
        last = points.MAX_DAY if bounds.end_ns is None else bounds.end_ns // DAY_NS
        out: dict[SeriesKey, MetricSeries] = {}
        with self._pool.connection() as conn, storage_errors("read series"):
            found = points.read_series_batch(conn, tenant_id, checked, first, last)
            for key, read in found.items():
                ts, values = read.timestamps_ns, read.values
                if read.raw_from is not None and first < read.raw_from:
                    ts, values = self._read_tiers(conn, tenant_id, read.series_id, first, last)
                cut = bounds_slice(ts, bounds.start_ns, bounds.end_ns)
                metadata = checks.decode_json(read.metadata)
                out[key] = MetricSeries.from_arrays(key, ts[cut], values[cut], metadata,
                                                    bounds.aware)  # fmt: skip
        return out

    def _read_tiers(
        self, conn: psycopg.Connection, tenant_id: str, series_id: int, first: int, last: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Raw points and roll-ups from one snapshot (a retention run may commit meanwhile)."""
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            raw_from, five_from = watermarks(conn, tenant_id)
            tiers = tier_days(first, last, raw_from, five_from)
            raw = points.read_raw_chunks(conn, tenant_id, series_id, *tiers.raw)
            hourly, five = read_rollups(conn, tenant_id, series_id, tiers.five_minute, tiers.hourly)
        return stitch_tiers(hourly, five, raw)

    def list_series(
        self,
        tenant_id: str,
        cluster_id: str | None = None,
        node_id: str | None = None,
        metric_name: str | None = None,
    ) -> list[SeriesKey]:
        """The tenant's series keys, sorted."""
        check_id("tenant_id", tenant_id)
        where, params = ["tenant_id = %s"], [tenant_id]
        for column, value in (
            ("cluster_id", checks.check_filter("cluster_id", cluster_id)),
            ("node_id", checks.check_filter("node_id", node_id)),
            ("metric_name", checks.check_filter("metric_name", metric_name)),
        ):
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        query = (
            "SELECT tenant_id, cluster_id, node_id, metric_name FROM series "
            f"WHERE {' AND '.join(where)}"
        )
        rows = self._read("list series", lambda c: c.execute(query, params).fetchall())
        return sorted(SeriesKey(*row) for row in rows)

    def list_tenants(self) -> list[str]:
        """Tenants with stored series, sorted."""
        query = "SELECT DISTINCT tenant_id FROM series ORDER BY 1"
        rows = self._read("list tenants", lambda c: c.execute(query).fetchall())
        return [row[0] for row in rows]

    # --- anomaly results -----------------------------------------------------------------
    def store_anomaly_results(self, tenant_id: str, results: Iterable[AnomalyResult]) -> int:
        """Upsert by (series, window_start, window_end); an updated result keeps its id."""
        rows = [anomaly_row(r) for r in checks.check_results(tenant_id, results)]
        self._write("store anomaly results", lambda c: records.upsert_anomaly_rows(c, rows))
        return len(rows)

    def _replace_anomaly_rows(
        self, gone: list[tuple[Any, ...]], rows: list[tuple[Any, ...]]
    ) -> None:
        """Delete ``gone`` and upsert ``rows`` in one transaction."""
        self._write(
            "replace anomaly results", lambda c: records.replace_anomaly_rows(c, gone, rows)
        )

    def _query_anomalies(self, query: checks.AnomalyQuery) -> list[dict[str, Any]]:
        """Results overlapping the bounds with score >= min_score, by (window_start, id)."""
        hits = self._read("query anomalies", lambda c: records.query_anomaly_rows(c, query))
        return [anomaly_dict(result_id, row, query.bounds.aware) for result_id, row in hits]

    # --- aggregated scores ---------------------------------------------------------------
    def store_aggregated_scores(self, scores: Iterable[AggregatedAnomalyScore]) -> int:
        """Upsert by (tenant, cluster, node, strategy, timestamp)."""
        rows = [score_row(score) for score in checks.check_scores(scores)]
        self._write("store aggregated scores", lambda c: records.upsert_score_rows(c, rows))
        return len(rows)

    def query_aggregated_scores(
        self,
        tenant_id: str,
        level: str | None = None,
        cluster_id: str | None = None,
        start_time: Any = None,
        end_time: Any = None,
        latest_only: bool = False,
    ) -> list[AggregatedAnomalyScore]:
        """Scores by (timestamp, id); ``latest_only`` keeps the newest per (cluster, node)."""
        check_id("tenant_id", tenant_id)
        wanted_level = checks.check_level(level)
        wanted_cluster = checks.check_filter("cluster_id", cluster_id)
        bounds = checks.time_bounds(start_time, end_time)
        hits = self._read(
            "query aggregated scores",
            lambda c: records.query_score_rows(
                c, tenant_id, wanted_level, wanted_cluster, bounds, bool(latest_only)
            ),
        )
        return [score_from_row(row, bounds.aware) for _, row in hits]

    # --- detector state ------------------------------------------------------------------
    def save_detector_state(self, key: SeriesKey, engine: str, state: bytes) -> None:
        """Keep the latest state per (series, engine)."""
        series_key = checks.check_series_key(key)
        name, blob = check_id("engine", engine), checks.check_state(state)
        self._write("save detector state", lambda c: records.save_state(c, series_key, name, blob))

    def save_detector_states(self, engine: str, states: Mapping[SeriesKey, bytes]) -> None:
        """Keep the latest state of each series, all in one transaction."""
        name = check_id("engine", engine)
        rows = [(checks.check_series_key(k), checks.check_state(v)) for k, v in states.items()]
        if rows:
            self._write("save detector states", lambda c: records.save_states(c, name, rows))

    def load_detector_state(self, key: SeriesKey, engine: str) -> bytes | None:
        """The last saved state, or None."""
        series_key, name = checks.check_series_key(key), check_id("engine", engine)
        return self._read("load detector state", lambda c: records.load_state(c, series_key, name))

    def load_detector_states(
        self, engine: str, keys: Sequence[SeriesKey]
    ) -> dict[SeriesKey, bytes]:
        """The saved states of ``keys`` (those with one), in one query."""
        name = check_id("engine", engine)
        wanted = [checks.check_series_key(key) for key in keys]
        if not wanted:
            return {}
        return self._read("load detector states", lambda c: records.load_states(c, name, wanted))

    # --- API keys ------------------------------------------------------------------------
    def save_api_key(self, record: ApiKeyRecord) -> None:
        """Insert; a duplicate key_id or key_hash is a ValidationError."""
        row = api_key_row(checks.check_api_key(record))
        self._write("save an API key", lambda c: records.insert_api_key(c, row))

    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """The record with this hash, revoked or not."""
        if not isinstance(key_hash, str):
            return None
        rows = self._read(
            "find an API key", lambda c: records.api_key_rows(c, "key_hash", key_hash)
        )
        return api_key_from_row(rows[0]) if rows else None

    def find_api_key_by_id(self, key_id: str) -> ApiKeyRecord | None:
        """The record with this key id, revoked or not."""
        rows = self._read("find an API key", lambda c: records.api_key_rows(c, "key_id", key_id))
        return api_key_from_row(rows[0]) if rows else None

    def list_api_keys(self, tenant_id: str | None) -> list[ApiKeyRecord]:
        """The tenant's keys (every tenant's when None), oldest first."""
        column = None if tenant_id is None else "tenant_id"
        if tenant_id is not None:
            check_id("tenant_id", tenant_id)
        rows = self._read("list API keys", lambda c: records.api_key_rows(c, column, tenant_id))
        return [api_key_from_row(row) for row in rows]

    def revoke_api_key(self, tenant_id: str, key_id: str) -> bool:
        """Stamp revoked_at (once); False if the tenant has no such key."""
        now_ns = to_epoch_ns(utc_now())
        return self._write(
            "revoke an API key", lambda c: records.revoke_api_key(c, tenant_id, key_id, now_ns)
        )

    # --- housekeeping --------------------------------------------------------------------
    def get_stats(self) -> dict[str, int]:
        """Counts of tenants, series, points, anomaly results and aggregated scores."""
        return self._read("count rows", records.stats)

    def retention_store(self) -> PostgresRetention:
        """This database as a :class:`~backend.storage.retention.RetentionStore`."""
        return PostgresRetention(self._pool, self._partitions)

    def close(self) -> None:
        """Close the pool (idempotent)."""
        self._pool.close()

    def _write(self, action: str, work: Callable[[psycopg.Connection], _T]) -> _T:
        with self._pool.connection() as conn, storage_errors(action), conn.transaction():
            return work(conn)

    def _read(self, action: str, work: Callable[[psycopg.Connection], _T]) -> _T:
        with self._pool.connection() as conn, storage_errors(action):
            return work(conn)

    def __repr__(self) -> str:
        return f"PostgresStorage({redact_url(self.url)!r})"


def _drop_expired_points(
    conn: psycopg.Connection, staged: dict[SeriesKey, points.StagedSeries]
) -> dict[SeriesKey, points.StagedSeries]:
    """Leave out points older than their tenant's raw watermark: they were already rolled
    up, so writing them again must not count them twice."""
    tenants = sorted({key.tenant_id for key in staged})
    with storage_errors("read retention watermarks"):
        rows = conn.execute(
            "SELECT tenant_id, first_day FROM retention_watermarks "
            "WHERE tier = 'raw' AND tenant_id = ANY(%s)",
            (tenants,),
        ).fetchall()
    if not rows:
        return staged
    first_ns = {tenant: int(day) * DAY_NS for tenant, day in rows}
    for key, s in staged.items():
        cut = first_ns.get(key.tenant_id)
        if cut is not None and s.timestamps_ns.size and s.timestamps_ns[0] < cut:
            keep = s.timestamps_ns >= cut
            s.timestamps_ns, s.values = s.timestamps_ns[keep], s.values[keep]
    return staged
