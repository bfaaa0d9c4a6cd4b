"""The embedded default backend: one SQLite file, no server.

Each thread gets its own connection (the API serves from a thread pool; WAL lets their reads run
while a write is in progress). Writes in this process are serialised by a lock and every write
runs in one ``BEGIN IMMEDIATE`` transaction, which also serialises writers in other processes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from backend.analytics.types import AggregatedAnomalyScore, AnomalyResult, MetricSeries, SeriesKey
from backend.analytics.types import check_id as _check_id
from backend.errors import StorageConfigError, StorageError
from backend.storage import _checks as checks
from backend.storage._records import (
    anomaly_dict,
    anomaly_row,
    api_key_from_row,
    api_key_row,
    latest_rows,
    score_from_row,
    score_row,
)
from backend.storage.interface import ApiKeyRecord, StorageBackend, WriteReport
from backend.storage.sqlite import points, records
from backend.storage.sqlite.schema import connect, initialise
from backend.storage.sqlite_retention import (
    read_series_batch_with_rollups,
    read_series_with_rollups,
    without_expired_points,
)

__all__ = ["DEFAULT_BUSY_TIMEOUT_S", "SQLiteStorage"]

DEFAULT_BUSY_TIMEOUT_S = 30.0


class SQLiteStorage(StorageBackend):
    """Series, results, scores, detector state and API keys in one SQLite file.

    Parameters
    ----------
    path
        The database file; created if missing (its directory must exist).
    busy_timeout_s
        How long a writer waits for another process's write transaction before failing.
    """

    def __init__(
        self, path: str | os.PathLike[str], busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S
    ) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        if not self.path.parent.is_dir():
            raise StorageConfigError(f"directory of {str(self.path)!r} does not exist")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._registry_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        try:
            initialise(self._conn(), self.path, busy_timeout_s)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteStorage({str(self.path)!r})"

    # --- connections and transactions ----------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if self._closed:
            raise StorageError(f"{self!r} is closed")
        if conn is None:
            with self._registry_lock:
                conn = connect(self.path, self.busy_timeout_s)
                self._connections.append(conn)
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed if the block succeeds, rolled back otherwise."""
        conn = self._conn()
        with self._write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageError(f"{self!r}: cannot start a write ({exc})") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StorageError(f"{self!r}: write failed ({exc})") from exc
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._conn()
        except sqlite3.Error as exc:
            raise StorageError(f"{self!r}: read failed ({exc})") from exc

    # --- metric points -------------------------------------------------------------------
    def store_metrics(self, series_list: Sequence[MetricSeries]) -> WriteReport:
        """Merge every series into its day chunks in one transaction."""
        items = checks.check_series_list(series_list)
        if items:
            unique = checks.coalesce_series(items)
            with self._write() as conn:
                unique = without_expired_points(conn, unique)
                ids = points.resolve_series(conn, unique)
                points.write_chunks(conn, points.chunk_rows(conn, unique, ids))
        return WriteReport(len({s.key for s in items}), sum(s.length for s in items))

    def get_metric_series(
        self,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        start_time: Any = None,
        end_time: Any = None,
    ) -> MetricSeries:
        """Points with ``start_time <= t <= end_time``, ascending."""
        key = checks.check_series_key((tenant_id, cluster_id, node_id, metric_name))
        bounds = checks.time_bounds(start_time, end_time)
        with self._read() as conn:
            return read_series_with_rollups(conn, key, bounds)

    def get_metric_series_batch(
        self,
        tenant_id: str,
        keys: Sequence[SeriesKey],
        start_time: Any = None,
        end_time: Any = None,
    ) -> dict[SeriesKey, MetricSeries]:
        """Many series' points in two queries (their ids, then their chunks) when the range
        holds only raw days; roll-ups are read series by series, as a single read does."""
        checked = checks.check_tenant_keys(tenant_id, keys)
        bounds = checks.time_bounds(start_time, end_time)
        with self._read() as conn:
            return read_series_batch_with_rollups(conn, tenant_id, checked, bounds)

    def list_series(
        self,
        tenant_id: str,
        cluster_id: str | None = None,
        node_id: str | None = None,
        metric_name: str | None = None,
    ) -> list[SeriesKey]:
        """The tenant's series keys, sorted."""
        where, params = ["tenant_id = ?"], [_check_id("tenant_id", tenant_id)]
        for column, value in (
            ("cluster_id", cluster_id),
            ("node_id", node_id),
            ("metric_name", metric_name),
        ):
            wanted = checks.check_filter(column, value)
            if wanted is not None:
                where.append(f"{column} = ?")
                params.append(wanted)
        sql = (
            "SELECT tenant_id, cluster_id, node_id, metric_name FROM series "
            f"WHERE {' AND '.join(where)} ORDER BY cluster_id, node_id, metric_name"
        )
        with self._read() as conn:
            return [SeriesKey(*row) for row in conn.execute(sql, params)]

    def list_tenants(self) -> list[str]:
        """Tenants with stored series, sorted."""
        with self._read() as conn:
            return [
                row[0] for row in conn.execute("SELECT DISTINCT tenant_id FROM series ORDER BY 1")
            ]

    # --- anomaly results -----------------------------------------------------------------
    def store_anomaly_results(self, tenant_id: str, results: Iterable[AnomalyResult]) -> int:
        """Upsert by (series, window_start, window_end); an updated result keeps its id."""
        rows = [anomaly_row(result) for result in checks.check_results(tenant_id, results)]
        if rows:
            with self._write() as conn:
                records.upsert_anomaly_rows(conn, rows)
        return len(rows)

    def _replace_anomaly_rows(
        self, gone: list[tuple[Any, ...]], rows: list[tuple[Any, ...]]
    ) -> None:
        """Delete ``gone`` and upsert ``rows`` in one transaction."""
        with self._write() as conn:
            records.replace_anomaly_rows(conn, gone, rows)

    def _query_anomalies(self, query: checks.AnomalyQuery) -> list[dict[str, Any]]:
        """Results overlapping the bounds with score >= min_score, by (window_start, id)."""
        with self._read() as conn:
            hits = records.query_anomaly_rows(conn, query)
        return [anomaly_dict(result_id, row, query.bounds.aware) for result_id, row in hits]

    # --- aggregated scores ---------------------------------------------------------------
    def store_aggregated_scores(self, scores: Iterable[AggregatedAnomalyScore]) -> int:
        """Upsert by (tenant, cluster, node, strategy, timestamp)."""
        rows = [score_row(score) for score in checks.check_scores(scores)]
        if rows:
            with self._write() as conn:
                records.upsert_score_rows(conn, rows)
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
        _check_id("tenant_id", tenant_id)
        wanted_level = checks.check_level(level)
        wanted_cluster = checks.check_filter("cluster_id", cluster_id)
        bounds = checks.time_bounds(start_time, end_time)
        with self._read() as conn:
            hits = records.query_score_rows(conn, tenant_id, wanted_level, wanted_cluster, bounds)
        if latest_only:
            hits = latest_rows(hits)
        return [score_from_row(row, bounds.aware) for _, row in hits]

    # --- detector state ------------------------------------------------------------------
    def save_detector_state(self, key: SeriesKey, engine: str, state: bytes) -> None:
        """Replace the state of (series, engine)."""
        series_key = checks.check_series_key(key)
        blob = checks.check_state(state)
        with self._write() as conn:
            records.save_state(conn, series_key, _check_id("engine", engine), blob)

    def save_detector_states(self, engine: str, states: Mapping[SeriesKey, bytes]) -> None:
        """Replace the states of many series, in one transaction."""
        name = _check_id("engine", engine)
        rows = [(checks.check_series_key(k), checks.check_state(v)) for k, v in states.items()]
        if not rows:
            return
        with self._write() as conn:
            records.save_states(conn, name, rows)

    def load_detector_state(self, key: SeriesKey, engine: str) -> bytes | None:
        """The last saved state, or None."""
        series_key = checks.check_series_key(key)
        with self._read() as conn:
            return records.load_state(conn, series_key, _check_id("engine", engine))

    def load_detector_states(
        self, engine: str, keys: Sequence[SeriesKey]
    ) -> dict[SeriesKey, bytes]:
        """The saved states of ``keys`` (those with one), a few queries for many keys."""
        name = _check_id("engine", engine)
        wanted = [checks.check_series_key(key) for key in keys]
        with self._read() as conn:
            return records.load_states(conn, name, wanted)

    # --- API keys ------------------------------------------------------------------------
    def save_api_key(self, record: ApiKeyRecord) -> None:
        """Insert; a duplicate key_id or key_hash is a ValidationError."""
        row = api_key_row(checks.check_api_key(record))
        with self._write() as conn:
            records.insert_api_key(conn, record, row)

    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """The record with this hash, revoked or not."""
        with self._read() as conn:
            rows = records.api_key_rows(conn, "key_hash", key_hash)
        return api_key_from_row(rows[0]) if rows else None

    def find_api_key_by_id(self, key_id: str) -> ApiKeyRecord | None:
        """The record with this key id, revoked or not."""
        with self._read() as conn:
            rows = records.api_key_rows(conn, "key_id", key_id)
        return api_key_from_row(rows[0]) if rows else None

    def list_api_keys(self, tenant_id: str | None) -> list[ApiKeyRecord]:
        """The tenant's keys (every tenant's when None), oldest first."""
        with self._read() as conn:
            if tenant_id is None:
                rows = records.api_key_rows(conn, None, None)
            else:
                rows = records.api_key_rows(conn, "tenant_id", _check_id("tenant_id", tenant_id))
        return [api_key_from_row(row) for row in rows]

    def revoke_api_key(self, tenant_id: str, key_id: str) -> bool:
        """Stamp revoked_at once; False if the tenant has no such key."""
        with self._write() as conn:
            return records.revoke_api_key(conn, tenant_id, key_id)

    # --- housekeeping --------------------------------------------------------------------
    def get_stats(self) -> dict[str, int]:
        """Counts of tenants, series, points, anomaly results and aggregated scores."""
        with self._read() as conn:
            row = conn.execute(records.STATS_SQL).fetchone()
        return {name: int(value) for name, value in zip(records.STATS_KEYS, row, strict=True)}

    def close(self) -> None:
        """Close every thread's connection; later calls raise StorageError."""
        with self._registry_lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
