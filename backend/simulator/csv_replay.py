"""Replay recorded metrics from CSV files.

A metric file has a ``timestamp,value`` header and one point per line; a scenario directory
is laid out ``DIR/CLUSTER/NODE/METRIC.csv``. Timestamps follow ``timestamp_format``
(``strftime`` codes; with ``%z`` the offsets are converted to UTC and the series is
timezone-aware, otherwise timestamps are naive UTC). Malformed files raise
:class:`CSVReplayError` naming the file, the line (the header is line 1), the field and why.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from backend.analytics.types import MetricSeries, SeriesKey, check_id
from backend.errors import CSVReplayError
from backend.simulator.baseline import MetricSimulator
from backend.simulator.config import SimulatorConfig

__all__ = ["CSVMetricLoader", "CSVReplayError", "CSVScenarioReplayer", "write_series_csv"]

DEFAULT_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"
_HEADER = ("timestamp", "value")


class CSVMetricLoader:
    """Loads one metric series from a ``timestamp,value`` CSV file."""

    def load_from_csv(
        self,
        filepath: str | Path,
        tenant_id: str,
        cluster_id: str,
        node_id: str,
        metric_name: str,
        timestamp_format: str = DEFAULT_TIMESTAMP_FORMAT,
    ) -> MetricSeries:
        """The file's points as a series (extra columns are ignored)."""
        path = Path(filepath)
        key = SeriesKey(
            check_id("tenant_id", tenant_id),
            check_id("cluster_id", cluster_id),
            check_id("node_id", node_id),
            check_id("metric_name", metric_name),
        )
        frame = _read_table(path)
        ts_ns, aware = _parse_times(path, frame["timestamp"], timestamp_format)
        values = _parse_values(path, frame["value"])
        _check_increasing(path, ts_ns, frame.index.to_numpy())
        return MetricSeries.from_arrays(key, ts_ns, values, {"source": str(path)}, aware)

    def create_sample_csv(self, filepath: str | Path, num_points: int = 100) -> Path:
        """Write a sample CPU series (seeded, from 2024-01-01 UTC) to ``filepath``."""
        simulator = MetricSimulator(SimulatorConfig(seed=0))
        series = simulator.generate(
            "sample", "sample", "sample", "cpu_usage", num_points, datetime(2024, 1, 1)
        )
        return write_series_csv(series, filepath)


class CSVScenarioReplayer:
    """Loads every series of a cluster from ``scenario_dir/CLUSTER/NODE/METRIC.csv``."""

    def __init__(
        self,
        scenario_dir: str | Path,
        tenant_id: str,
        timestamp_format: str = DEFAULT_TIMESTAMP_FORMAT,
    ) -> None:
        self.scenario_dir = Path(scenario_dir)
        self.tenant_id = check_id("tenant_id", tenant_id)
        self.timestamp_format = timestamp_format
        self._loader = CSVMetricLoader()

    def list_clusters(self) -> list[str]:
        """Cluster directories in the scenario, sorted."""
        if not self.scenario_dir.is_dir():
            raise CSVReplayError(f"{self.scenario_dir}: scenario directory not found")
        return sorted(p.name for p in self.scenario_dir.iterdir() if p.is_dir())

    def load_scenario(self, cluster_id: str) -> dict[str, list[MetricSeries]]:
        """``{node_id: [series per metric file, by metric name]}`` for one cluster.

        Node directories without any ``.csv`` file are left out.
        """
        cluster_dir = self.scenario_dir / check_id("cluster_id", cluster_id)
        if not cluster_dir.is_dir():
            raise CSVReplayError(f"{cluster_dir}: cluster directory not found")
        scenario: dict[str, list[MetricSeries]] = {}
        for node_dir in sorted(p for p in cluster_dir.iterdir() if p.is_dir()):
            files = sorted(node_dir.glob("*.csv"))
            if files:
                scenario[node_dir.name] = [
                    self._loader.load_from_csv(
                        f, self.tenant_id, cluster_id, node_dir.name, f.stem, self.timestamp_format
                    )
                    for f in files
                ]
        return scenario


def write_series_csv(
    series: MetricSeries, filepath: str | Path, timestamp_format: str = DEFAULT_TIMESTAMP_FORMAT
) -> Path:
    """Write ``series`` as ``timestamp,value`` CSV (the format the loader reads back)."""
    path = Path(filepath)
    path.parent.mkdir(parents=True, exist_ok=True)
    times = pd.to_datetime(series.timestamps_ns, unit="ns", utc=True)
    if "%z" not in timestamp_format and "%Z" not in timestamp_format:
        times = times.tz_localize(None)
    frame = pd.DataFrame(
        {"timestamp": times.strftime(timestamp_format), "value": series.values_array}
    )
    frame.to_csv(path, index=False, float_format="%.17g")
    return path


def _fail(path: Path, line: int | None, field: str, reason: str) -> CSVReplayError:
    where = f"{path}, line {line}" if line is not None else str(path)
    return CSVReplayError(f"{where}, field {field!r}: {reason}")


def _read_table(path: Path) -> pd.DataFrame:
    """The timestamp and value columns as text, indexed by file line number."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [(n, row) for n, row in enumerate(csv.reader(handle), start=1) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CSVReplayError(f"{path}: cannot read ({exc})") from None
    if not rows:
        raise _fail(path, 1, "header", "file is empty; expected a 'timestamp,value' header")
    header_line, raw_header = rows[0]
    header = [name.strip().lower() for name in raw_header]
    for name in _HEADER:
        if name not in header:
            raise _fail(path, header_line, "header", f"no {name!r} column in {raw_header!r}")
    if len(rows) == 1:
        raise _fail(path, header_line + 1, "timestamp", "no data rows after the header")
    for number, row in rows[1:]:
        if len(row) != len(header):
            raise _fail(path, number, "row", f"{len(row)} fields, the header has {len(header)}")
    columns = {name: [row[header.index(name)].strip() for _, row in rows[1:]] for name in _HEADER}
    return pd.DataFrame(columns, index=[n for n, _ in rows[1:]], dtype=object)


def _parse_times(path: Path, text: pd.Series, fmt: str) -> tuple[np.ndarray, bool]:
    parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    bad = parsed.isna().to_numpy()
    if bad.any():
        first = int(np.argmax(bad))
        reason = f"{text.iloc[first]!r} does not match {fmt!r}"
        raise _fail(path, int(text.index[first]), "timestamp", reason)
    aware = "%z" in fmt or "%Z" in fmt
    return pd.DatetimeIndex(parsed).as_unit("ns").asi8.astype(np.int64), aware


def _parse_values(path: Path, text: pd.Series) -> np.ndarray:
    try:  # numpy's parser is exact (round-trips repr); pandas' fast one is not
        values = np.asarray(text.to_numpy(), dtype=np.float64)
    except ValueError:
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.argmax(bad))
        reason = f"{text.iloc[first]!r} is not a finite number"
        raise _fail(path, int(text.index[first]), "value", reason)
    return values


def _check_increasing(path: Path, ts_ns: np.ndarray, lines: np.ndarray) -> None:
    steps = np.diff(ts_ns)
    if (steps <= 0).any():
        first = int(np.argmax(steps <= 0)) + 1
        reason = "timestamps must be strictly increasing (sorted, no duplicates)"
        raise _fail(path, int(lines[first]), "timestamp", reason)
