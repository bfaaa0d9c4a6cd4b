"""Series validation before storage: vectorised checks that name the series, field and reason.

:class:`MetricValidator` checks, in order: the identifiers (non-empty printable strings), the
size (``allow_empty``, ``max_points``), finite values (no NaN / inf), strictly increasing
timestamps (duplicates are always an error), time gaps larger than ``max_gap_seconds``,
value bounds for the metric (:mod:`backend.ingestion.bounds`) and timestamps too far in the
future (``max_future_seconds``). Each check is one numpy pass over the arrays and reports the
*first* offending point plus how many share the problem, so a 10,000-point series full of NaN
yields one readable message, not 10,000.

A large time gap is a *warning* by default: missing data is a fact about the world that
detection should see (it is an anomaly kind of its own), not a reason to drop what arrived.
Pass ``gap_is_error=True`` to reject such series instead.

Raw arrays (file rows, HTTP payloads) are checked with :meth:`MetricValidator.validate_arrays`
*before* a :class:`~backend.analytics.types.MetricSeries` is built, since the series constructor
itself refuses unsorted or non-finite input with a single exception.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from backend.analytics._timeconv import NS_PER_SECOND, from_epoch_ns
from backend.analytics.types import MetricSeries, SeriesKey, check_id
from backend.errors import ValidationError
from backend.ingestion.bounds import series_bounds
from backend.ingestion.results import Severity, ValidationIssue, ValidationResult

__all__ = [
    "DEFAULT_MAX_FUTURE_SECONDS",
    "DEFAULT_MAX_POINTS",
    "MetricValidator",
]

DEFAULT_MAX_POINTS = 1_000_000
"""Points per series above which a series is refused (about a year at 30 s resolution)."""

DEFAULT_MAX_FUTURE_SECONDS = 366 * 86_400
"""How far past "now" a timestamp may lie. Generous on purpose: simulated series start now and
run forward, while epoch milliseconds misread as seconds land thousands of years ahead."""

_ID_FIELDS = ("tenant_id", "cluster_id", "node_id", "metric_name")


class MetricValidator:
    """Decides whether a series may be stored.

    Parameters
    ----------
    allow_empty
        Accept series without points.
    max_gap_seconds
        Consecutive timestamps further apart than this are reported (``None`` disables).
    require_sorted
        Raw arrays must already be strictly increasing; with ``False`` out-of-order input is
        accepted (the caller sorts it) but duplicate timestamps are still an error.
    gap_is_error
        Report large gaps as errors instead of warnings.
    check_bounds
        Check values against the metric's physical range (see :mod:`backend.ingestion.bounds`).
    bounds
        Per-metric-name ``(low, high)`` overrides; ``None`` on a side means unbounded.
    max_future_seconds
        Latest acceptable timestamp, relative to ``clock()`` (``None`` disables).
    max_points
        Size limit per series (``None`` disables).
    clock
        Returns "now" as epoch nanoseconds; injectable for tests.

    >>> v = MetricValidator()
    >>> s = MetricSeries("t1", "c1", "n1", "cpu_usage", [0, 60, 120], [10.0, 250.0, 12.0])
    >>> result = v.validate(s)
    >>> result.is_valid, result.issues[0].field
    (False, 'values[1]')
    """

    def __init__(
        self,
        allow_empty: bool = False,
        max_gap_seconds: float | None = 300,
        require_sorted: bool = True,
        gap_is_error: bool = False,
        check_bounds: bool = True,
        bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
        max_future_seconds: float | None = DEFAULT_MAX_FUTURE_SECONDS,
        max_points: int | None = DEFAULT_MAX_POINTS,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.allow_empty = allow_empty
        self.max_gap_seconds = max_gap_seconds
        self.require_sorted = require_sorted
        self.gap_is_error = gap_is_error
        self.check_bounds = check_bounds
        self.bounds = dict(bounds or {})
        self.max_future_seconds = max_future_seconds
        self.max_points = max_points
        self.clock = clock

    def validate(self, series: MetricSeries) -> ValidationResult:
        """Check one built series."""
        return self.validate_arrays(
            series.key, series.timestamps_ns, series.values_array, series.metadata
        )

    def validate_batch(
        self, series_list: Iterable[MetricSeries]
    ) -> tuple[list[MetricSeries], list[MetricSeries], list[str]]:
        """Split series into ``(valid, invalid, error messages)``; warnings do not invalidate."""
        valid: list[MetricSeries] = []
        invalid: list[MetricSeries] = []
        errors: list[str] = []
        for series in series_list:
            result = self.validate(series)
            (valid if result.is_valid else invalid).append(series)
            errors.extend(result.errors)
        return valid, invalid, errors

    def validate_arrays(
        self,
        key: SeriesKey | Sequence[Any],
        timestamps_ns: Any,
        values: Any,
        metadata: Mapping[str, Any] | None = None,
        rows: np.ndarray | None = None,
        origin: str | None = None,
    ) -> ValidationResult:
        """Check raw columns before a series is built from them.

        ``timestamps_ns`` are int64 epoch nanoseconds (or ``datetime64``); ``rows`` optionally
        maps each position to a row number of ``origin`` (a file), so issues say where to look.
        """
        report = _Reporter(str(SeriesKey(*key)) if len(key) == 4 else str(key), rows, origin)
        _check_ids(report, key)
        columns = _as_columns(report, timestamps_ns, values)
        if columns is None or not self._check_size(report, columns[1].shape[0]):
            return report.result()
        ts_ns, vals = columns
        finite = _check_finite(report, vals)
        ordered = self._check_order(report, ts_ns)
        if ordered is not None and self.max_gap_seconds is not None:
            self._check_gaps(report, *ordered, self.max_gap_seconds)
        if self.check_bounds and len(key) == 4:
            self._check_bounds(report, str(key[3]), vals, metadata, finite)
        if self.max_future_seconds is not None:
            self._check_future(report, ts_ns, self.max_future_seconds)
        return report.result()

    def _check_size(self, report: _Reporter, n: int) -> bool:
        if n == 0 and not self.allow_empty:
            report.error("values", [], "series has no points (allow_empty=False)")
            return False
        if self.max_points is not None and n > self.max_points:
            report.error("values", f"{n} points", f"more than max_points={self.max_points}")
            return False
        return n > 0

    def _check_order(
        self, report: _Reporter, ts_ns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The timestamps in increasing order and their steps, or None when they cannot form
        a series. Reductions first: the masks are only built when something is wrong."""
        steps = np.diff(ts_ns)
        if steps.size == 0 or steps.min() > 0:
            return ts_ns, steps
        if not self.require_sorted:
            ordered = np.sort(ts_ns)
            duplicate = np.diff(ordered) == 0
            if not duplicate.any():
                return ordered, np.diff(ordered)
            bad = int(np.flatnonzero(ts_ns == ordered[int(duplicate.argmax())])[1])
            report.point_error(ts_ns, bad, "duplicate timestamp", duplicate)
        elif (steps == 0).any():
            report.point_error(
                ts_ns,
                1 + int((steps == 0).argmax()),
                "duplicate timestamp (equal to the previous one)",
                steps == 0,
            )
        else:
            report.point_error(
                ts_ns,
                1 + int((steps < 0).argmax()),
                "earlier than the previous timestamp (must be strictly increasing)",
                steps < 0,
            )
        return None

    def _check_gaps(
        self, report: _Reporter, ts_ns: np.ndarray, steps: np.ndarray, max_gap_seconds: float
    ) -> None:
        limit_ns = int(max_gap_seconds * NS_PER_SECOND)
        if steps.size == 0 or steps.max() <= limit_ns:
            return
        gaps = steps > limit_ns
        first = int(gaps.argmax())
        reason = (
            f"gap of {steps[first] / NS_PER_SECOND:g} s after the previous point "
            f"exceeds max_gap_seconds={max_gap_seconds:g}"
        )
        severity = Severity.ERROR if self.gap_is_error else Severity.WARNING
        report.point_issue(ts_ns, first + 1, reason, gaps, severity)

    def _check_bounds(
        self,
        report: _Reporter,
        metric_name: str,
        vals: np.ndarray,
        metadata: Mapping[str, Any] | None,
        finite: bool,
    ) -> None:
        limits = series_bounds(metric_name, metadata, self.bounds)
        if limits is None:
            return
        low = -np.inf if limits.low is None else limits.low
        high = np.inf if limits.high is None else limits.high
        if finite and low <= vals.min() and vals.max() <= high:
            return
        outside = (vals < low) | (vals > high)
        if outside.any():
            first = int(outside.argmax())
            report.error(
                f"values[{first}]",
                float(vals[first]),
                f"must be {limits.describe()}",
                first,
                outside,
            )

    def _check_future(self, report: _Reporter, ts_ns: np.ndarray, max_future: float) -> None:
        latest = self.clock() + int(max_future * NS_PER_SECOND)
        if ts_ns.max() <= latest:
            return
        future = ts_ns > latest
        report.point_error(
            ts_ns, int(future.argmax()), f"more than {max_future:g} s in the future", future
        )


class _Reporter:
    """Collects issues for one series, attaching its name and, for files, the row."""

    def __init__(self, series: str, rows: np.ndarray | None, origin: str | None) -> None:
        self.series = series
        self.rows = rows
        self.origin = origin
        self.issues: list[ValidationIssue] = []

    def error(
        self,
        field: str,
        value: Any,
        reason: str,
        index: int | None = None,
        mask: np.ndarray | None = None,
    ) -> None:
        self.issue(field, value, reason, Severity.ERROR, index, mask)

    def point_error(self, ts_ns: np.ndarray, index: int, reason: str, mask: np.ndarray) -> None:
        self.point_issue(ts_ns, index, reason, mask, Severity.ERROR)

    def point_issue(
        self, ts_ns: np.ndarray, index: int, reason: str, mask: np.ndarray, severity: Severity
    ) -> None:
        stamp = from_epoch_ns(int(ts_ns[index]))
        self.issue(f"timestamps[{index}]", stamp, reason, severity, index, mask)

    def issue(
        self,
        field: str,
        value: Any,
        reason: str,
        severity: Severity,
        index: int | None = None,
        mask: np.ndarray | None = None,
    ) -> None:
        count = 1 if mask is None else int(np.count_nonzero(mask))
        self.issues.append(
            ValidationIssue(
                self.series, field, value, reason, severity, self._location(index), count
            )
        )

    def _location(self, index: int | None) -> str | None:
        if self.origin is None:
            return None
        if index is None or self.rows is None or index >= len(self.rows):
            return self.origin
        return f"{self.origin} row {int(self.rows[index])}"

    def result(self) -> ValidationResult:
        return ValidationResult.from_issues(self.issues)


def _check_ids(report: _Reporter, key: SeriesKey | Sequence[Any]) -> None:
    if len(key) != 4:
        report.error("key", tuple(key), "must be (tenant_id, cluster_id, node_id, metric_name)")
        return
    for name, value in zip(_ID_FIELDS, key, strict=True):
        try:
            check_id(name, value)
        except ValidationError as exc:
            report.error(name, value, exc.reason)


def _as_columns(
    report: _Reporter, timestamps_ns: Any, values: Any
) -> tuple[np.ndarray, np.ndarray] | None:
    ts = np.asarray(timestamps_ns)
    if ts.dtype.kind == "M":
        ts = ts.astype("datetime64[ns]").view(np.int64)
    if ts.ndim != 1 or (ts.size and ts.dtype.kind not in "iu"):
        report.error("timestamps", ts.dtype.name, "must be a 1-D array of epoch nanoseconds")
        return None
    try:
        vals = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        report.error("values", values, f"not numeric ({exc})")
        return None
    if vals.ndim != 1 or vals.shape[0] != ts.shape[0]:
        report.error(
            "values",
            f"shape {vals.shape}",
            f"must be 1-D and as long as timestamps ({ts.shape[0]})",
        )
        return None
    return ts.astype(np.int64, copy=False), vals


def _check_finite(report: _Reporter, vals: np.ndarray) -> bool:
    """True when every value is finite (one reduction on the happy path)."""
    if np.isfinite(vals).all():
        return True
    bad = ~np.isfinite(vals)
    first = int(bad.argmax())
    report.error(
        f"values[{first}]", float(vals[first]), "must be finite (no NaN / inf)", first, bad
    )
    return False
