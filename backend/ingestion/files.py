"""Long-format metric files (CSV or Parquet) as series candidates, and a source over them.

The long format is what the simulator writes: one row per point with the columns
``tenant_id, cluster_id, node_id, metric_name, timestamp, value``; ``is_anomaly`` and
``anomaly_kind`` (ground truth) are ignored, an optional ``unit`` column becomes the series'
``metadata["unit"]``. Files without ``tenant_id`` take the tenant the caller names.

Reading is columnar: the rows are grouped by the four key columns and sorted by time per group
with numpy, never looped over in Python. A file that cannot be read at all (unknown type,
missing column, corrupt) raises :class:`MetricFileError`; a bad row (unparsable timestamp,
missing or non-numeric value) only marks its own series as rejected, naming the file, row,
column and reason. Row numbers are 1-based data rows, header excluded (CSV line = row + 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.types import MetricSeries, SeriesKey
from backend.errors import IngestionError, SeriesNotFoundError
from backend.ingestion.candidate import SeriesCandidate
from backend.ingestion.filecolumns import ParsedColumn, parse_timestamps, parse_values
from backend.ingestion.results import ValidationIssue

__all__ = [
    "KEY_COLUMNS",
    "REQUIRED_COLUMNS",
    "FileSource",
    "MetricFileError",
    "read_metric_file",
    "read_metric_frame",
]

KEY_COLUMNS = ("tenant_id", "cluster_id", "node_id", "metric_name")
REQUIRED_COLUMNS = (*KEY_COLUMNS, "timestamp", "value")
_NA_TEXT = ["", "NaN", "nan", "NA", "N/A", "null", "NULL", "None", "none"]
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".tsv")
_PARQUET_SUFFIXES = (".parquet", ".pq")


class MetricFileError(IngestionError):
    """A metric file cannot be used at all; names the file and, when known, column and row."""

    def __init__(
        self, path: str, reason: str, column: str | None = None, row: int | None = None
    ) -> None:
        self.path = path
        self.reason = reason
        self.column = column
        self.row = row
        where = path + (f" row {row}" if row is not None else "")
        where += f" column {column!r}" if column else ""
        super().__init__(f"{where}: {reason}")


def read_metric_file(path: str | Path, default_tenant: str | None = None) -> list[SeriesCandidate]:
    """Every series of a CSV or Parquet file, as candidates in key order."""
    frame = _load(Path(path))
    return read_metric_frame(frame, str(path), default_tenant)


def read_metric_frame(
    frame: pd.DataFrame, origin: str, default_tenant: str | None = None
) -> list[SeriesCandidate]:
    """The columnar core of :func:`read_metric_file`, for frames already in memory."""
    frame = _with_tenant(frame, origin, default_tenant)
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise MetricFileError(origin, f"missing required column(s); found: {found}", missing[0])
    if frame.empty:
        return []
    timestamps = _parse(parse_timestamps, frame["timestamp"], origin, "timestamp")
    values = _parse(parse_values, frame["value"], origin, "value")
    keys = frame[list(KEY_COLUMNS)].astype("string").fillna("")
    group_ids = keys.groupby(list(KEY_COLUMNS), sort=True, dropna=False).ngroup().to_numpy()
    order = np.lexsort((timestamps.data, group_ids))
    bounds = np.flatnonzero(np.diff(group_ids[order])) + 1
    units = frame["unit"] if "unit" in frame.columns else None
    return [
        _candidate(rows, keys, frame, timestamps, values, units, origin)
        for rows in np.split(order, bounds)
    ]


def _load(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    if not path.is_file():
        raise MetricFileError(str(path), "no such file")
    try:
        if name.endswith(_PARQUET_SUFFIXES):
            return pd.read_parquet(path)
        if name.endswith(_CSV_SUFFIXES):
            return pd.read_csv(
                path,
                sep="\t" if name.endswith(".tsv") else ",",
                dtype=dict.fromkeys(KEY_COLUMNS, str),
                keep_default_na=False,
                na_values={"timestamp": _NA_TEXT, "value": _NA_TEXT, "unit": _NA_TEXT},
            )
    except Exception as exc:  # pandas, pyarrow and the OS each raise their own types
        raise MetricFileError(str(path), f"unreadable ({type(exc).__name__}: {exc})") from None
    raise MetricFileError(str(path), "unsupported file type (expected .csv or .parquet)")


def _with_tenant(frame: pd.DataFrame, origin: str, default_tenant: str | None) -> pd.DataFrame:
    if "tenant_id" in frame.columns or default_tenant is None:
        return frame
    return frame.assign(tenant_id=default_tenant)


def _parse(parser: Any, column: pd.Series, origin: str, name: str) -> ParsedColumn:
    try:
        parsed: ParsedColumn = parser(column)
    except (TypeError, ValueError, OverflowError) as exc:
        raise MetricFileError(origin, f"cannot be read ({exc})", name) from None
    return parsed


def _candidate(
    rows: np.ndarray,
    keys: pd.DataFrame,
    frame: pd.DataFrame,
    timestamps: ParsedColumn,
    values: ParsedColumn,
    units: pd.Series | None,
    origin: str,
) -> SeriesCandidate:
    first = int(rows[0])
    key = SeriesKey(*(str(keys.iat[first, i]) for i in range(len(KEY_COLUMNS))))
    found = (
        *_row_issues(key, rows, timestamps, frame["timestamp"], "timestamp", origin),
        *_row_issues(key, rows, values, frame["value"], "value", origin),
    )
    issues = tuple(issue for _, issue in sorted(found, key=lambda pair: pair[0]))
    metadata: dict[str, Any] = {}
    unit = None if units is None else _cell(units, first)
    if unit is not None:
        metadata["unit"] = str(unit)
    return SeriesCandidate(
        key, timestamps.data[rows], values.data[rows], metadata, origin, rows + 1, issues
    )


def _row_issues(
    key: SeriesKey,
    rows: np.ndarray,
    parsed: ParsedColumn,
    raw: pd.Series,
    column: str,
    origin: str,
) -> list[tuple[int, ValidationIssue]]:
    """One issue per kind of problem in this series' rows (the first row and how many),
    each with that first row so issues of both columns can be listed in file order."""
    codes = parsed.codes[rows]
    issues = []
    for code in np.unique(codes[codes != 0]):
        hits = rows[codes == code]
        first = int(hits.min())
        issue = ValidationIssue(
            str(key),
            column,
            _cell(raw, first),
            parsed.reasons[int(code)],
            location=f"{origin} row {first + 1}",
            count=int(hits.shape[0]),
        )
        issues.append((first, issue))
    return issues


def _cell(column: pd.Series, row: int) -> Any:
    value: Any = column.iat[row]
    return None if pd.isna(value) else value


class FileSource:
    """A :class:`~backend.ingestion.sources.MetricSource` over long-format files.

    Files are read once, on first use. ``collect`` serves one series, restricted to
    ``[start_time, end_time]`` (inclusive; ``None`` = unbounded); the same series spread over
    several files is merged.
    """

    def __init__(
        self, paths: str | Path | Iterable[str | Path], default_tenant: str | None = None
    ) -> None:
        self.paths = [paths] if isinstance(paths, str | Path) else list(paths)
        self.default_tenant = default_tenant
        self._by_key: dict[SeriesKey, list[SeriesCandidate]] | None = None

    def candidates(self) -> list[SeriesCandidate]:
        """Every series in the files, one candidate per (file, series), unvalidated."""
        return [c for path in self.paths for c in read_metric_file(path, self.default_tenant)]

    def keys(self) -> list[SeriesKey]:
        """The series the files hold, sorted."""
        return sorted(self._index())

    def collect(
        self,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        start_time: Any = None,
        end_time: Any = None,
    ) -> MetricSeries:
        """One series; raises ``SeriesNotFoundError`` or the first row problem it has."""
        key = SeriesKey(tenant_id, cluster_id, node_id, metric_name)
        parts = self._index().get(key)
        if not parts:
            raise SeriesNotFoundError(*key)
        for part in parts:
            if part.issues:
                raise part.issues[0].to_exception()
        ts_ns = np.concatenate([p.timestamps_ns for p in parts])
        values = np.concatenate([p.values for p in parts])
        keep = _in_range(ts_ns, start_time, end_time)
        order = np.argsort(ts_ns[keep], kind="stable")
        aware = any(
            isinstance(t, datetime) and t.tzinfo is not None for t in (start_time, end_time)
        )
        return MetricSeries.from_arrays(
            key, ts_ns[keep][order], values[keep][order], parts[0].metadata, aware
        )

    def _index(self) -> dict[SeriesKey, list[SeriesCandidate]]:
        if self._by_key is None:
            self._by_key = {}
            for candidate in self.candidates():
                self._by_key.setdefault(candidate.key, []).append(candidate)
        return self._by_key


def _in_range(ts_ns: np.ndarray, start_time: Any, end_time: Any) -> np.ndarray:
    keep = np.ones(ts_ns.shape[0], dtype=bool)
    if start_time is not None:
        keep &= ts_ns >= to_epoch_ns(start_time)
    if end_time is not None:
        keep &= ts_ns <= to_epoch_ns(end_time)
    return keep
