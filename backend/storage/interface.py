"""The storage seam: one abstract interface every backend implements.

Every method takes ``tenant_id`` first (or reads it from the object stored) and never returns
another tenant's data. Writes of points are idempotent: a point is identified by its series and
timestamp, and writing it again replaces its value (last write wins) without duplicating it.
Time bounds are inclusive at both ends. Datetimes returned echo the awareness of the query
bounds: naive (meaning UTC) unless the caller passed aware bounds.

The module-level :func:`configure_storage` / :func:`get_storage` / :func:`get_metric_series`
are the documented compatibility shim; new code passes a backend in explicitly.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.analytics.types import AggregatedAnomalyScore, AnomalyResult, MetricSeries, SeriesKey

if TYPE_CHECKING:
    from backend.storage._checks import AnomalyQuery

__all__ = [
    "DEFAULT_MIN_SCORE",
    "STATS_KEYS",
    "ApiKeyRecord",
    "StorageBackend",
    "WriteReport",
    "configure_storage",
    "get_metric_series",
    "get_storage",
]

DEFAULT_MIN_SCORE = 0.5


@dataclass(frozen=True)
class WriteReport:
    """What a bulk write did: series touched and points written (new or replaced)."""

    series_written: int
    points_written: int


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored API key: only its hash is kept; the key itself is shown once at creation."""

    key_id: str
    tenant_id: str
    role: str
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    label: str = ""

    @property
    def is_active(self) -> bool:
        """False once revoked."""
        return self.revoked_at is None


#: Keys every backend's ``get_stats`` returns (SQL backends read them in this order).
STATS_KEYS = (
    "total_tenants",
    "total_metrics",
    "total_points",
    "total_anomalies",
    "total_aggregated_scores",
)


class StorageBackend(abc.ABC):
    """Where series, anomaly results, aggregated scores and detector state live."""

    # --- metric points -------------------------------------------------------------------
    @abc.abstractmethod
    def store_metrics(self, series_list: Sequence[MetricSeries]) -> WriteReport:
        """Store many series in one transaction: all are written or none is."""

    def store_metric(self, series: MetricSeries) -> WriteReport:
        """Store one series (idempotent per timestamp)."""
        return self.store_metrics([series])

    @abc.abstractmethod
    def get_metric_series(
        self,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        start_time: Any = None,
        end_time: Any = None,
    ) -> MetricSeries:
        """Points of one series with ``start_time <= t <= end_time``, ascending.

        Raises :class:`~backend.errors.SeriesNotFoundError` (a ``ValueError``) when the series
        does not exist for this tenant. A known series with no points in range is empty.
        """

    def get_metric_series_batch(
        self,
        tenant_id: str,
        keys: Sequence[SeriesKey],
        start_time: Any = None,
        end_time: Any = None,
    ) -> dict[SeriesKey, MetricSeries]:
        """Points of many series of one tenant in one range, as :meth:`get_metric_series`
        reads each; series that do not exist are left out. A detection run reads a batch of
        series at a time; backends where a read is a round trip answer in one query."""
        from backend.errors import SeriesNotFoundError
        from backend.storage._checks import check_tenant_keys

        found: dict[SeriesKey, MetricSeries] = {}
        for key in check_tenant_keys(tenant_id, keys):
            try:
                found[key] = self.get_metric_series(*key, start_time, end_time)
            except SeriesNotFoundError:
                continue
        return found

    @abc.abstractmethod
    def list_series(
        self,
        tenant_id: str,
        cluster_id: str | None = None,
        node_id: str | None = None,
        metric_name: str | None = None,
    ) -> list[SeriesKey]:
        """Keys of the tenant's stored series, sorted, optionally filtered."""

    @abc.abstractmethod
    def list_tenants(self) -> list[str]:
        """Tenants with stored series, sorted (an operator-level view: the API never calls it)."""

    # --- anomaly results -----------------------------------------------------------------
    @abc.abstractmethod
    def store_anomaly_results(self, tenant_id: str, results: Iterable[AnomalyResult]) -> int:
        """Store results of one tenant (each must carry that tenant_id); upsert by
        (series, window_start, window_end). Returns how many were written."""

    def replace_anomaly_results(
        self,
        tenant_id: str,
        superseded: Sequence[AnomalyResult],
        results: Iterable[AnomalyResult],
    ) -> int:
        """Store ``results`` and remove the stored results they supersede, in one write: all
        or none. ``superseded`` are matched by (series, window_start, window_end); one that
        is not stored is ignored. A detection run uses it when an anomaly still going on at
        the end of the previous run goes on: the longer result replaces the shorter one
        rather than standing beside it, and keeps its id (a result whose window covers
        superseded ones of its series takes the place of the earliest). Returns how many
        results were written. The arguments are checked here, once for every backend; a
        backend writes the checked rows in :meth:`_replace_anomaly_rows`."""
        from backend.storage._checks import check_results
        from backend.storage._records import anomaly_row

        gone = [anomaly_row(r)[:6] for r in check_results(tenant_id, superseded)]
        rows = [anomaly_row(r) for r in check_results(tenant_id, results)]
        if gone or rows:
            self._replace_anomaly_rows(gone, rows)
        return len(rows)

    @abc.abstractmethod
    def _replace_anomaly_rows(
        self, gone: list[tuple[Any, ...]], rows: list[tuple[Any, ...]]
    ) -> None:
        """Remove the rows identified by ``gone`` (series and window) and upsert ``rows``,
        all or none; a row covering a removed one keeps its id
        (:func:`backend.storage._records.plan_replacement`)."""

    def store_anomaly_result(
        self,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        result: AnomalyResult,
    ) -> None:
        """Documented single-result form; the ids must match the result's own."""
        from backend.errors import ValidationError

        expected = SeriesKey(tenant_id, cluster_id, node_id, metric_name)
        if result.key != expected:
            raise ValidationError("result", str(result.key), f"does not belong to {expected}")
        self.store_anomaly_results(tenant_id, [result])

    def query_anomalies(
        self,
        tenant_id: str,
        start_time: Any = None,
        end_time: Any = None,
        cluster_id: str | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        node_id: str | None = None,
        metric_name: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Results whose window overlaps [start_time, end_time] with score >= min_score.

        Each dict holds every :class:`AnomalyResult` field (window bounds as datetimes) plus
        ``id`` (a stable, increasing integer for cursor pagination). Ordered by window_start
        then id (reversed when ``newest_first``). The arguments are checked here, once for
        every backend; a backend answers the checked query in :meth:`_query_anomalies`.
        """
        from backend.storage._checks import anomaly_query

        query = anomaly_query(
            tenant_id,
            start_time,
            end_time,
            cluster_id,
            min_score,
            node_id,
            metric_name,
            limit,
            newest_first,
        )
        return self._query_anomalies(query)

    @abc.abstractmethod
    def _query_anomalies(self, query: AnomalyQuery) -> list[dict[str, Any]]:
        """The results a checked :meth:`query_anomalies` call asks for."""

    # --- aggregated scores ---------------------------------------------------------------
    @abc.abstractmethod
    def store_aggregated_scores(self, scores: Iterable[AggregatedAnomalyScore]) -> int:
        """Store scores (contributors included). Returns how many were written."""

    def store_aggregated_score(self, score: AggregatedAnomalyScore) -> None:
        """Documented single-score form."""
        self.store_aggregated_scores([score])

    @abc.abstractmethod
    def query_aggregated_scores(
        self,
        tenant_id: str,
        level: str | None = None,
        cluster_id: str | None = None,
        start_time: Any = None,
        end_time: Any = None,
        latest_only: bool = False,
    ) -> list[AggregatedAnomalyScore]:
        """Stored scores of a tenant, optionally of one level (node | cluster | tenant) and
        cluster, in a time range; ``latest_only`` keeps the newest per (cluster, node)."""

    # --- detector state ------------------------------------------------------------------
    @abc.abstractmethod
    def save_detector_state(self, key: SeriesKey, engine: str, state: bytes) -> None:
        """Persist an engine's per-series state so detection resumes after a restart."""

    def save_detector_states(self, engine: str, states: Mapping[SeriesKey, bytes]) -> None:
        """Persist many series' states at once (a detection run saves one per series it
        scored): all or none. Backends with transactions write them in one."""
        for key, state in states.items():
            self.save_detector_state(key, engine, state)

    @abc.abstractmethod
    def load_detector_state(self, key: SeriesKey, engine: str) -> bytes | None:
        """The last saved state, or None."""

    def load_detector_states(
        self, engine: str, keys: Sequence[SeriesKey]
    ) -> dict[SeriesKey, bytes]:
        """The saved states of many series at once (those without one are left out); a
        detection run asks for a batch of series at a time. Backends answer in one query."""
        found = {key: self.load_detector_state(key, engine) for key in keys}
        return {key: state for key, state in found.items() if state is not None}

    # --- API keys ------------------------------------------------------------------------
    @abc.abstractmethod
    def save_api_key(self, record: ApiKeyRecord) -> None:
        """Insert a key record (key_id and key_hash are unique)."""

    @abc.abstractmethod
    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """The record with this hash (revoked ones included), or None."""

    @abc.abstractmethod
    def find_api_key_by_id(self, key_id: str) -> ApiKeyRecord | None:
        """The record with this key id (any tenant: operator CLI only), or None."""

    @abc.abstractmethod
    def list_api_keys(self, tenant_id: str | None) -> list[ApiKeyRecord]:
        """The tenant's keys, oldest first; ``None`` lists every tenant's (operator CLI only)."""

    @abc.abstractmethod
    def revoke_api_key(self, tenant_id: str, key_id: str) -> bool:
        """Mark the tenant's key revoked; False if it does not exist for this tenant."""

    # --- housekeeping --------------------------------------------------------------------
    @abc.abstractmethod
    def get_stats(self) -> dict[str, int]:
        """Counts: at least total_tenants, total_metrics, total_points, total_anomalies,
        total_aggregated_scores."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold resources
        """Release connections and files."""

    def __enter__(self) -> StorageBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_configured: StorageBackend | None = None


def configure_storage(backend: StorageBackend) -> StorageBackend:
    """Set the process-wide backend used by the module-level helpers (compatibility shim)."""
    global _configured
    _configured = backend
    return backend


def get_storage() -> StorageBackend:
    """The configured backend; defaults to a new :class:`InMemoryStorage`."""
    global _configured
    if _configured is None:
        from backend.storage.memory_storage import InMemoryStorage

        _configured = InMemoryStorage()
    return _configured


def get_metric_series(
    tenant_id: str,
    cluster_id: str,
    node_id: str,
    metric_name: str,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
) -> MetricSeries:
    """Read one series from the configured backend."""
    return get_storage().get_metric_series(
        tenant_id, cluster_id, node_id, metric_name, start_time, end_time
    )
