"""The reference backend: everything in process memory, numpy arrays per series.

It defines the behaviour the conformance suite pins for every other backend. Nothing survives
the process; use it for tests, demos and as the fallback of :func:`get_storage`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.analytics._timeconv import to_epoch_ns, utc_now
from backend.analytics.types import (
    AggregatedAnomalyScore,
    AnomalyResult,
    MetricSeries,
    SeriesKey,
    check_id,
)
from backend.errors import SeriesNotFoundError, ValidationError
from backend.storage import _checks as checks
from backend.storage._chunks import bounds_slice, merge_points
from backend.storage._records import (
    NO_ID,
    anomaly_dict,
    anomaly_row,
    api_key_from_row,
    api_key_row,
    latest_rows,
    plan_replacement,
    score_from_row,
    score_row,
)
from backend.storage.interface import ApiKeyRecord, StorageBackend, WriteReport

__all__ = ["InMemoryStorage"]

Row = tuple[Any, ...]


@dataclass(frozen=True)
class _Stored:
    """One series: sorted read-only arrays and its metadata."""

    timestamps_ns: np.ndarray
    values: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)


class InMemoryStorage(StorageBackend):
    """Thread-safe in-memory storage; one lock guards every read and write.

    >>> from datetime import datetime
    >>> store = InMemoryStorage()
    >>> s = MetricSeries("t1", "c1", "n1", "cpu", [datetime(2024, 1, 1)], [5.0])
    >>> store.store_metrics([s, s]).points_written
    2
    >>> store.get_metric_series("t1", "c1", "n1", "cpu").values
    [5.0]
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._series: dict[SeriesKey, _Stored] = {}
        self._anomalies: dict[tuple[Any, ...], tuple[int, Row]] = {}
        self._scores: dict[tuple[Any, ...], tuple[int, Row]] = {}
        self._states: dict[tuple[SeriesKey, str], bytes] = {}
        self._api_keys: dict[str, Row] = {}
        self._next_id = 1

    # --- metric points -------------------------------------------------------------------
    def store_metrics(self, series_list: Sequence[MetricSeries]) -> WriteReport:
        """Merge every series in; validated and staged first so a bad batch changes nothing."""
        items = checks.check_series_list(series_list)
        with self._lock:
            staged: dict[SeriesKey, _Stored] = {}
            for series in items:
                current = staged.get(series.key) or self._series.get(series.key)
                staged[series.key] = _merged(current, series)
            self._series.update(staged)
        return WriteReport(len(staged), sum(series.length for series in items))

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
        with self._lock:
            stored = self._series.get(key)
        if stored is None:
            raise SeriesNotFoundError(*key)
        cut = bounds_slice(stored.timestamps_ns, bounds.start_ns, bounds.end_ns)
        return MetricSeries.from_arrays(
            key, stored.timestamps_ns[cut], stored.values[cut], stored.metadata, bounds.aware
        )

    def list_series(
        self,
        tenant_id: str,
        cluster_id: str | None = None,
        node_id: str | None = None,
        metric_name: str | None = None,
    ) -> list[SeriesKey]:
        """The tenant's series keys, sorted."""
        check_id("tenant_id", tenant_id)
        wanted = (
            checks.check_filter("cluster_id", cluster_id),
            checks.check_filter("node_id", node_id),
            checks.check_filter("metric_name", metric_name),
        )
        with self._lock:
            keys = [key for key in self._series if key.tenant_id == tenant_id]
        return sorted(key for key in keys if _matches(key[1:], wanted))

    def list_tenants(self) -> list[str]:
        """Tenants with stored series, sorted."""
        with self._lock:
            return sorted({key.tenant_id for key in self._series})

    # --- anomaly results -----------------------------------------------------------------
    def store_anomaly_results(self, tenant_id: str, results: Iterable[AnomalyResult]) -> int:
        """Upsert by (series, window_start, window_end); an updated result keeps its id."""
        rows = [anomaly_row(result) for result in checks.check_results(tenant_id, results)]
        with self._lock:
            for row in rows:
                identity = row[:6]
                previous = self._anomalies.get(identity)
                self._anomalies[identity] = (previous[0] if previous else self._new_id(), row)
        return len(rows)

    def _replace_anomaly_rows(
        self, gone: list[tuple[Any, ...]], rows: list[tuple[Any, ...]]
    ) -> None:
        """Remove ``gone`` and upsert ``rows`` under one lock."""
        updates, deletes, inserts = plan_replacement(gone, rows)
        with self._lock:
            for identity in deletes:
                self._anomalies.pop(identity, None)
            for old, row in updates:
                kept = self._anomalies.pop(old, None)
                self._anomalies.pop(row[:6], None)  # another result with the new window
                self._anomalies[row[:6]] = (kept[0] if kept else self._new_id(), row)
            for row in inserts:
                previous = self._anomalies.get(row[:6])
                self._anomalies[row[:6]] = (previous[0] if previous else self._new_id(), row)

    def _query_anomalies(self, query: checks.AnomalyQuery) -> list[dict[str, Any]]:
        """Results overlapping the bounds with score >= min_score, by (window_start, id)."""
        wanted = tuple(query.filters.values())
        with self._lock:
            stored = list(self._anomalies.values())
        hits = [
            (result_id, row)
            for result_id, row in stored
            if row[0] == query.tenant_id
            and _matches(row[1:4], wanted)
            and query.bounds.overlaps(row[4], row[5])
            and row[6] >= query.min_score
        ]
        hits.sort(key=lambda hit: (hit[1][4], hit[0]), reverse=query.newest_first)
        aware = query.bounds.aware
        return [anomaly_dict(result_id, row, aware) for result_id, row in hits[: query.limit]]

    # --- aggregated scores ---------------------------------------------------------------
    def store_aggregated_scores(self, scores: Iterable[AggregatedAnomalyScore]) -> int:
        """Upsert by (tenant, cluster, node, strategy, timestamp)."""
        rows = [score_row(score) for score in checks.check_scores(scores)]
        with self._lock:
            for row in rows:
                identity = row[:5]
                previous = self._scores.get(identity)
                self._scores[identity] = (previous[0] if previous else self._new_id(), row)
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
        with self._lock:
            stored = list(self._scores.values())
        hits = [
            (score_id, row)
            for score_id, row in stored
            if row[0] == tenant_id
            and (wanted_cluster is None or row[1] == wanted_cluster)
            and (wanted_level is None or _level(row) == wanted_level)
            and bounds.contains(row[4])
        ]
        hits = latest_rows(hits) if latest_only else sorted(hits, key=lambda h: (h[1][4], h[0]))
        return [score_from_row(row, bounds.aware) for _, row in hits]

    # --- detector state ------------------------------------------------------------------
    def save_detector_state(self, key: SeriesKey, engine: str, state: bytes) -> None:
        """Keep the latest state per (series, engine)."""
        identity = (checks.check_series_key(key), check_id("engine", engine))
        blob = checks.check_state(state)
        with self._lock:
            self._states[identity] = blob

    def save_detector_states(self, engine: str, states: Mapping[SeriesKey, bytes]) -> None:
        """Keep the latest state of each series; all are checked before any is kept."""
        name = check_id("engine", engine)
        checked = {
            (checks.check_series_key(k), name): checks.check_state(v) for k, v in states.items()
        }
        with self._lock:
            self._states.update(checked)

    def load_detector_state(self, key: SeriesKey, engine: str) -> bytes | None:
        """The last saved state, or None."""
        identity = (checks.check_series_key(key), check_id("engine", engine))
        with self._lock:
            return self._states.get(identity)

    def load_detector_states(
        self, engine: str, keys: Sequence[SeriesKey]
    ) -> dict[SeriesKey, bytes]:
        """The saved states of ``keys`` (those with one)."""
        name = check_id("engine", engine)
        wanted = [checks.check_series_key(key) for key in keys]
        with self._lock:
            found = {key: self._states.get((key, name)) for key in wanted}
        return {key: state for key, state in found.items() if state is not None}

    # --- API keys ------------------------------------------------------------------------
    def save_api_key(self, record: ApiKeyRecord) -> None:
        """Insert; a duplicate key_id or key_hash is a ValidationError."""
        row = api_key_row(checks.check_api_key(record))
        with self._lock:
            if record.key_id in self._api_keys:
                raise ValidationError("key_id", record.key_id, "already exists")
            if any(stored[3] == record.key_hash for stored in self._api_keys.values()):
                raise ValidationError("key_hash", record.key_hash, "already exists")
            self._api_keys[record.key_id] = row

    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """The record with this hash, revoked or not."""
        with self._lock:
            rows = [row for row in self._api_keys.values() if row[3] == key_hash]
        return api_key_from_row(rows[0]) if rows else None

    def find_api_key_by_id(self, key_id: str) -> ApiKeyRecord | None:
        """The record with this key id, revoked or not."""
        with self._lock:
            row = self._api_keys.get(key_id)
        return api_key_from_row(row) if row is not None else None

    def list_api_keys(self, tenant_id: str | None) -> list[ApiKeyRecord]:
        """The tenant's keys (every tenant's when None), oldest first."""
        if tenant_id is not None:
            check_id("tenant_id", tenant_id)
        with self._lock:
            rows = [
                row for row in self._api_keys.values() if tenant_id is None or row[1] == tenant_id
            ]
        rows.sort(key=lambda row: row[4])
        return [api_key_from_row(row) for row in rows]

    def revoke_api_key(self, tenant_id: str, key_id: str) -> bool:
        """Stamp revoked_at (once); False if the tenant has no such key."""
        with self._lock:
            row = self._api_keys.get(key_id)
            if row is None or row[1] != tenant_id:
                return False
            if row[5] is None:
                self._api_keys[key_id] = (*row[:5], to_epoch_ns(utc_now()), *row[6:])
            return True

    # --- housekeeping --------------------------------------------------------------------
    def get_stats(self) -> dict[str, int]:
        """Counts of tenants, series, points, anomaly results and aggregated scores."""
        with self._lock:
            tenants = {key.tenant_id for key in self._series}
            tenants.update(row[0] for _, row in self._anomalies.values())
            tenants.update(row[0] for _, row in self._scores.values())
            return {
                "total_tenants": len(tenants),
                "total_metrics": len(self._series),
                "total_points": sum(s.timestamps_ns.size for s in self._series.values()),
                "total_anomalies": len(self._anomalies),
                "total_aggregated_scores": len(self._scores),
            }

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1


def _merged(current: _Stored | None, series: MetricSeries) -> _Stored:
    # stored as its JSON form, so every backend gives the same metadata back
    metadata = checks.decode_json(checks.encode_json("metadata", series.metadata))
    if current is None:
        return _Stored(series.timestamps_ns, series.values_array, metadata)
    ts, values = merge_points(
        current.timestamps_ns, current.values, series.timestamps_ns, series.values_array
    )
    ts.setflags(write=False)
    values.setflags(write=False)
    return _Stored(ts, values, {**current.metadata, **metadata})


def _matches(values: Sequence[Any], wanted: Sequence[str | None]) -> bool:
    return all(w is None or v == w for v, w in zip(values, wanted, strict=True))


def _level(row: Row) -> str:
    if row[2] != NO_ID:
        return "node"
    return "cluster" if row[1] != NO_ID else "tenant"
