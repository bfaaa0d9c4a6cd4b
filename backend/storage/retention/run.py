"""Applying a policy: the :class:`RetentionStore` protocol, one run, and the periodic job.

Rolling up is done day by day, oldest first, each day one transaction of the backend, so a run
can be interrupted and re-run. Watermarks are raised as days complete, which keeps reads
consistent while a run is in progress.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from backend.errors import ConfigError
from backend.storage.retention.policy import (
    DEFAULT_RETENTION_INTERVAL_S,
    RetentionPolicy,
    RetentionSettings,
)
from backend.storage.retention.rollups import FIVE_MINUTES_S, HOUR_S

__all__ = [
    "RetentionJob",
    "RetentionReport",
    "RetentionStore",
    "retention_store_for",
    "run_retention",
    "start_retention_job",
]

_log = logging.getLogger(__name__)


class RetentionStore(Protocol):
    """What a backend implements so :func:`run_retention` can apply a policy to it."""

    def retention_tenants(self) -> list[str]:
        """Every tenant that has series."""

    def raw_days_before(self, day: int) -> list[tuple[str, int]]:
        """(tenant, day) pairs that still hold raw points on days before ``day``."""

    def roll_up_day(self, day: int, tenants: Sequence[str]) -> int:
        """In one transaction: summarise the tenants' raw points of ``day`` at every resolution
        of :data:`RESOLUTIONS_S` (:func:`summarise`, merged into stored roll-ups with
        :func:`merge_rollups`), delete those raw points and raise the tenants' raw watermarks to
        ``day + 1``. Returns the number of points rolled up."""

    def raise_watermarks(self, tier: str, first_days: Mapping[str, int]) -> None:
        """Raise (never lower) the ``raw`` or ``5m`` watermark of each tenant."""

    def expire_rollups(self, resolution_s: int, tenant_id: str, before_day: int) -> int:
        """Delete the tenant's roll-ups at this resolution of days before ``before_day``."""

    def drop_expired_partitions(self, before_day: int) -> int:
        """Drop empty day partitions wholly before ``before_day`` (0 for unpartitioned stores)."""


@dataclass
class RetentionReport:
    """What one retention run did."""

    days_rolled_up: int = 0
    points_rolled_up: int = 0
    rollups_expired: int = 0
    partitions_dropped: int = 0
    seconds: float = 0.0


def run_retention(
    store: RetentionStore,
    policy: RetentionPolicy,
    now: object = None,
    progress: Callable[[int, int], object] | None = None,
) -> RetentionReport:
    """Apply ``policy`` once: roll up expired raw days (oldest first), expire roll-ups, drop
    empty partitions. Safe to interrupt and re-run: each day is its own transaction.

    ``progress(done, total)`` is called after each rolled-up day.
    """
    started = time.perf_counter()
    cutoffs = policy.cutoffs(now)
    report = RetentionReport()
    due: dict[int, list[str]] = {}
    for tenant, day in store.raw_days_before(cutoffs.latest_raw_day):
        if day < cutoffs.raw_for(tenant):
            due.setdefault(day, []).append(tenant)
    for done, day in enumerate(sorted(due), start=1):
        report.points_rolled_up += store.roll_up_day(day, sorted(due[day]))
        report.days_rolled_up += 1
        if progress is not None:
            progress(done, len(due))
    tenants = store.retention_tenants()
    store.raise_watermarks("raw", {t: cutoffs.raw_for(t) for t in tenants})
    store.raise_watermarks("5m", {t: cutoffs.five_minute_for(t) for t in tenants})
    for tenant in tenants:
        five = cutoffs.five_minute_for(tenant)
        report.rollups_expired += store.expire_rollups(FIVE_MINUTES_S, tenant, five)
        report.rollups_expired += store.expire_rollups(HOUR_S, tenant, cutoffs.hourly_day)
    report.partitions_dropped = store.drop_expired_partitions(cutoffs.earliest_raw_day)
    report.seconds = time.perf_counter() - started
    return report


class RetentionJob:
    """Applies a policy every ``interval_s`` seconds in a daemon thread (``aboutcloud serve``).

    A failed run is reported to ``on_error`` and retried at the next interval; the job never
    dies of one bad run.
    """

    def __init__(
        self,
        store: RetentionStore,
        policy: RetentionPolicy,
        interval_s: float = DEFAULT_RETENTION_INTERVAL_S,
        on_report: Callable[[RetentionReport], object] | None = None,
        on_error: Callable[[Exception], object] | None = None,
    ) -> None:
        if not interval_s > 0:
            raise ConfigError("interval_s", interval_s, "must be > 0")
        self.store = store
        self.policy = policy
        self.interval_s = interval_s
        self.on_report = on_report
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> RetentionReport | None:
        """One run now; errors go to ``on_error`` (re-raised when there is none)."""
        try:
            report = run_retention(self.store, self.policy)
        except Exception as exc:
            if self.on_error is None:
                raise
            self.on_error(exc)
            return None
        if self.on_report is not None:
            self.on_report(report)
        return report

    def start(self) -> None:
        """Start the background thread (first run immediately)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="aboutcloud-retention", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the thread to finish and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                _log.exception("retention run failed; retrying in %.0f s", self.interval_s)
            self._stop.wait(self.interval_s)


def retention_store_for(storage: object) -> RetentionStore:
    """The :class:`RetentionStore` view of a backend (PostgreSQL or the embedded SQLite)."""
    from backend.errors import StorageConfigError

    maker = getattr(storage, "retention_store", None)
    if callable(maker):
        store: RetentionStore = maker()
        return store
    from backend.storage.sqlite import SQLiteStorage

    if isinstance(storage, SQLiteStorage):
        from backend.storage.sqlite_retention import SQLiteRetention

        return SQLiteRetention(storage)
    raise StorageConfigError(f"{type(storage).__name__} keeps no history for retention to expire")


def start_retention_job(
    storage: object, settings: RetentionSettings | None = None
) -> RetentionJob | None:
    """Start the periodic retention job ``serve`` runs beside the API; None (nothing started)
    for a backend that keeps no history, such as ``memory://``. Call ``.stop()`` on shutdown."""
    from backend.errors import StorageConfigError

    settings = settings or RetentionSettings()
    try:
        store = retention_store_for(storage)
    except StorageConfigError:
        return None
    job = RetentionJob(store, settings.policy(), settings.interval_seconds)
    job.start()
    return job
