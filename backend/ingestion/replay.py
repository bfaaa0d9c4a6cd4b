"""Replay recorded series into a sink at a chosen speed, in global time order.

Recorded data (series in memory, or long-format CSV/Parquet files) is merged into one timeline:
every point of every series, ordered by timestamp (ties keep series order). The timeline is cut
into ticks of ``tick_seconds`` of *data* time; each tick is handed to the sink as one
:class:`ReplayBatch` when its wall-clock moment comes, ``speed`` times faster than real time
(``speed=10`` plays an hour of data in six minutes). ``speed=0`` or ``inf`` replays as fast as
possible, which is what tests and backfills want.

Hand a batch to the ingestion pipeline with
``replay(files, lambda b: pipeline.ingest_series(tenant, b.to_series()))``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress

from backend.analytics._timeconv import NS_PER_SECOND, from_epoch_ns
from backend.analytics.types import MetricSeries, SeriesKey
from backend.errors import ValidationError
from backend.ingestion.files import read_metric_file

__all__ = ["ReplayBatch", "ReplaySummary", "replay"]

Recorded = MetricSeries | str | Path | Iterable[MetricSeries | str | Path]


@dataclass(frozen=True, eq=False)
class ReplayBatch:
    """The points of one tick, columnar and in time order.

    ``series_index[i]`` says which of ``keys`` point ``i`` belongs to.
    """

    tick: int
    keys: tuple[SeriesKey, ...]
    series_index: np.ndarray
    timestamps_ns: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def points(self) -> Iterator[tuple[SeriesKey, datetime, float]]:
        """``(key, timestamp, value)`` per point, in time order (for simple sinks)."""
        for index, ts, value in zip(
            self.series_index.tolist(), self.timestamps_ns.tolist(), self.values.tolist(),
            strict=True,
        ):  # fmt: skip
            yield self.keys[index], from_epoch_ns(ts), value

    def to_series(self) -> list[MetricSeries]:
        """The tick's points grouped back into one series per key (key order)."""
        order = np.argsort(self.series_index, kind="stable")
        grouped = self.series_index[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        ends = np.r_[starts[1:], grouped.shape[0]]
        return [
            MetricSeries.from_arrays(
                self.keys[int(grouped[s])], self.timestamps_ns[order[s:e]], self.values[order[s:e]]
            )
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
        ]


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay emitted."""

    series: int
    points: int
    ticks: int
    wall_seconds: float


def replay(
    source: Recorded,
    sink: Callable[[ReplayBatch], Any],
    speed: float = 10.0,
    tick_seconds: float = 60.0,
    show_progress: bool = True,
    console: Console | None = None,
    tenant_id: str | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReplaySummary:
    """Emit every recorded point to ``sink`` in time order, tick by tick, at ``speed``× real time.

    ``source`` is a series, a file path, or an iterable of either; files are read with
    :func:`~backend.ingestion.files.read_metric_file` (``tenant_id`` fills a missing tenant
    column) and series with unreadable rows raise. ``sleep`` and ``clock`` are injectable so
    pacing can be tested without waiting.
    """
    if not speed >= 0:
        raise ValidationError("speed", speed, "must be >= 0 (0 or inf = as fast as possible)")
    if not (tick_seconds > 0 and math.isfinite(tick_seconds)):
        raise ValidationError("tick_seconds", tick_seconds, "must be a finite number > 0")
    series = _load(source, tenant_id)
    timeline = _Timeline.merge(series)
    ticks = timeline.ticks(max(1, int(tick_seconds * NS_PER_SECOND)))
    paced = speed not in (0.0, math.inf)
    started = clock()
    with Progress(console=console, disable=not show_progress, transient=False) as bar:
        task = bar.add_task("replaying", total=len(timeline))
        for number, (lo, hi) in enumerate(ticks):
            if paced:  # a tick is due once its last point has "happened"
                due = started + (timeline.ts[hi - 1] - timeline.ts[0]) / NS_PER_SECOND / speed
                wait = due - clock()
                if wait > 0:
                    sleep(wait)
            sink(timeline.batch(number, lo, hi))
            bar.advance(task, hi - lo)
    return ReplaySummary(len(series), len(timeline), len(ticks), clock() - started)


@dataclass(frozen=True)
class _Timeline:
    keys: tuple[SeriesKey, ...]
    index: np.ndarray
    ts: np.ndarray
    values: np.ndarray

    @classmethod
    def merge(cls, series: list[MetricSeries]) -> _Timeline:
        if not series:
            empty = np.empty(0, dtype=np.int64)
            return cls((), empty, empty, np.empty(0))
        index = np.repeat(np.arange(len(series)), [s.length for s in series])
        ts = np.concatenate([s.timestamps_ns for s in series])
        values = np.concatenate([s.values_array for s in series])
        order = np.lexsort((index, ts))
        return cls(tuple(s.key for s in series), index[order], ts[order], values[order])

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def ticks(self, tick_ns: int) -> list[tuple[int, int]]:
        """``(start, stop)`` positions of each non-empty tick."""
        if not len(self):
            return []
        tick_of = (self.ts - self.ts[0]) // tick_ns
        cuts = np.flatnonzero(np.diff(tick_of)) + 1
        bounds = np.r_[0, cuts, len(self)].tolist()
        return list(itertools.pairwise(bounds))

    def batch(self, tick: int, lo: int, hi: int) -> ReplayBatch:
        return ReplayBatch(tick, self.keys, self.index[lo:hi], self.ts[lo:hi], self.values[lo:hi])


def _load(source: Recorded, tenant_id: str | None) -> list[MetricSeries]:
    items = [source] if isinstance(source, MetricSeries | str | Path) else list(source)
    series: list[MetricSeries] = []
    for item in items:
        if isinstance(item, MetricSeries):
            series.append(item)
            continue
        for candidate in read_metric_file(item, tenant_id):
            if candidate.issues:
                raise candidate.issues[0].to_exception()
            series.append(candidate.to_series())
    return series
