"""Write a simulated fleet to disk (CSV and/or Parquet) and read it back.

An export directory holds ``metrics.csv`` and/or ``metrics.parquet`` (the long format of
:mod:`backend.simulator.frames`, one row per point, plus each series' ``unit``, which
``aboutcloud ingest`` keeps in the series' metadata) and ``labels.csv`` (one row per anomaly
window, :data:`~backend.simulator.labels.LABEL_COLUMNS`). CSV timestamps are ISO 8601 in UTC
(``2024-01-01T00:00:00Z``); Parquet stores ``timestamp[ns, UTC]``. Tables go through Arrow
built straight from numpy columns, so a million rows write in about a second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from backend.errors import IngestionError, ValidationError
from backend.simulator.fleet import SimulatedFleet
from backend.simulator.frames import KIND_CODES, LONG_COLUMNS, LongColumns, long_columns
from backend.simulator.labels import LABEL_COLUMNS

__all__ = ["ExportFormat", "ExportResult", "read_labels", "read_long_frame", "write_fleet"]

METRICS_STEM = "metrics"
LABELS_FILE = "labels.csv"
_SCHEMA = {
    "tenant_id": pa.string(), "cluster_id": pa.string(), "node_id": pa.string(),
    "metric_name": pa.string(), "timestamp": pa.timestamp("ns", tz="UTC"),
    "value": pa.float64(), "is_anomaly": pa.bool_(), "anomaly_kind": pa.string(),
}  # fmt: skip


class ExportFormat(StrEnum):
    """Which files to write."""

    CSV = "csv"
    PARQUET = "parquet"
    BOTH = "both"


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    files: tuple[Path, ...]
    rows: int
    series: int
    anomalies_by_kind: dict[str, int]


def write_fleet(
    fleet: SimulatedFleet,
    output_dir: str | Path,
    format: ExportFormat | str = ExportFormat.CSV,
    progress: Callable[[Path], None] | None = None,
) -> ExportResult:
    """Write ``fleet``'s long table and labels into ``output_dir`` (created if missing).

    ``progress(path)`` is called after each file is written.
    """
    fmt = _check_format(format)
    directory = _prepare_dir(output_dir)
    cols = long_columns(fleet.series, fleet.labels)
    units = [series.metadata.get("unit") for series in fleet.series]
    targets = [f for f in ("csv", "parquet") if fmt in (f, ExportFormat.BOTH)]
    written: list[Path] = []
    for target in targets:
        path = directory / f"{METRICS_STEM}.{target}"
        if target == "csv":
            pa_csv.write_csv(_arrow_table(cols, units, text_times=True), path)
        else:
            pq.write_table(_arrow_table(cols, units, text_times=False), path, compression="zstd")
        written.append(path)
        if progress is not None:
            progress(path)
    labels_path = directory / LABELS_FILE
    _labels_for_csv(fleet.labels_frame()).to_csv(labels_path, index=False)
    written.append(labels_path)
    if progress is not None:
        progress(labels_path)
    return ExportResult(
        tuple(written), int(cols.values.size), len(fleet.series), fleet.anomaly_counts()
    )


def read_long_frame(path: str | Path) -> pd.DataFrame:
    """Read a ``metrics.csv`` or ``metrics.parquet`` back with the dtypes of ``long_frame``."""
    path = Path(path)
    try:
        if path.suffix == ".parquet":
            table = pq.read_table(path)
        else:
            options = pa_csv.ConvertOptions(column_types=_SCHEMA, strings_can_be_null=False)
            table = pa_csv.read_csv(path, convert_options=options)
    except (OSError, pa.ArrowException) as exc:
        raise IngestionError(f"{path}: cannot read the long table ({exc})") from None
    missing = [name for name in LONG_COLUMNS if name not in table.column_names]
    if missing:
        raise IngestionError(f"{path}: missing column(s) {', '.join(missing)}")
    frame = table.select(list(LONG_COLUMNS)).to_pandas()
    for name in (*LONG_COLUMNS[:4], "anomaly_kind"):
        frame[name] = frame[name].astype(object)
    return frame


def read_labels(path: str | Path) -> pd.DataFrame:
    """Read a ``labels.csv`` back: times as ``datetime64[ns, UTC]``, indices as int64."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"parameters": str}, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise IngestionError(f"{path}: cannot read labels ({exc})") from None
    missing = [name for name in LABEL_COLUMNS if name not in frame.columns]
    if missing:
        raise IngestionError(f"{path}: missing column(s) {', '.join(missing)}")
    for name in ("start_time", "end_time"):
        frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601").astype(
            "datetime64[ns, UTC]"
        )
    for name in ("start_index", "end_index"):
        frame[name] = frame[name].astype(np.int64)
    for name in LABEL_COLUMNS[:6]:
        frame[name] = frame[name].astype(str).astype(object)
    return frame[list(LABEL_COLUMNS)]


def _arrow_table(cols: LongColumns, units: list[str | None], text_times: bool) -> pa.Table:
    index = pa.array(cols.series_index, type=pa.int32())
    arrays: dict[str, Any] = {
        name: pa.DictionaryArray.from_arrays(index, pa.array(cols.key_parts(name), pa.string()))
        for name in LONG_COLUMNS[:4]
    }
    arrays["timestamp"] = (
        _text_times(cols.timestamps_ns)
        if text_times
        else pa.array(cols.timestamps_ns.view("datetime64[ns]"), pa.timestamp("ns", tz="UTC"))
    )
    arrays["value"] = pa.array(cols.values, pa.float64())
    arrays["is_anomaly"] = pa.array(cols.is_anomaly, pa.bool_())
    arrays["anomaly_kind"] = pa.DictionaryArray.from_arrays(
        pa.array(cols.kind_codes, pa.int8()), pa.array(list(KIND_CODES), pa.string())
    )
    arrays["unit"] = _unit_column(cols.series_index, units)
    return pa.table(arrays)


def _unit_column(series_index: np.ndarray, units: list[str | None]) -> pa.DictionaryArray:
    """Each row's series unit (null where it has none), so an ingested export explains its
    values in their units; nulls sit in the indices (Arrow's CSV writer refuses them in the
    dictionary)."""
    names = sorted({unit for unit in units if unit is not None})
    code = np.array([-1 if u is None else names.index(u) for u in units], dtype=np.int32)
    rows = code[series_index] if code.size else np.empty(0, dtype=np.int32)
    return pa.DictionaryArray.from_arrays(
        pa.array(rows, pa.int32(), mask=rows < 0), pa.array(names, pa.string())
    )


def _text_times(ts_ns: np.ndarray) -> pa.DictionaryArray:
    """ISO strings, formatted once per distinct timestamp (a fleet shares its timestamps)."""
    unique, inverse = np.unique(ts_ns, return_inverse=True)
    unit: Literal["s", "ns"] = "s" if not (unique % 1_000_000_000).any() else "ns"
    text = np.char.add(np.datetime_as_string(unique.astype("datetime64[ns]"), unit=unit), "Z")
    return pa.DictionaryArray.from_arrays(
        pa.array(inverse.astype(np.int32)), pa.array(text.tolist(), pa.string())
    )


def _labels_for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for name in ("start_time", "end_time"):
        out[name] = out[name].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return out


def _check_format(format: ExportFormat | str) -> ExportFormat:
    try:
        return ExportFormat(format)
    except ValueError:
        choices = ", ".join(f.value for f in ExportFormat)
        raise ValidationError("format", format, f"must be one of {choices}") from None


def _prepare_dir(output_dir: str | Path) -> Path:
    directory = Path(output_dir)
    if directory.exists() and not directory.is_dir():
        raise ValidationError("output_dir", str(directory), "exists and is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError("output_dir", str(directory), f"cannot create ({exc})") from None
    return directory
