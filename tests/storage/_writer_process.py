"""A writer the concurrency tests run in its own OS process (or thread, for memory://).

Run with the repository root on ``PYTHONPATH``.
``python _writer_process.py URL WRITER BATCHES`` prints ``ready``, waits for a line on stdin,
then writes its batches. ``python _writer_process.py URL crash SERIES`` commits a small batch,
prints ``committed``, then starts one large batch so the parent can kill it mid-write.

Values are a pure function of (series, timestamp), so whatever order the writers interleave
in, the final contents are known exactly.
"""

from __future__ import annotations

import sys

import numpy as np

from backend.analytics.types import MetricSeries, SeriesKey
from backend.storage import StorageBackend, open_storage

STEP_NS = 60 * 1_000_000_000
START_NS = 1_704_067_200 * 1_000_000_000 - 30 * STEP_NS  # straddles a UTC midnight
BATCH_POINTS = 100
BATCH_STRIDE = 50  # consecutive batches overlap by half
TENANT = "tenant-w"


def expected_value(node: str, ts_ns: np.ndarray) -> np.ndarray:
    """The value every writer stores for ``node`` at ``ts_ns``."""
    offset = sum(node.encode()) % 97
    return (ts_ns - START_NS) / STEP_NS + offset


def batch_series(node: str, batch: int) -> MetricSeries:
    """Points ``batch * STRIDE`` to ``batch * STRIDE + BATCH_POINTS - 1`` of one series."""
    index = batch * BATCH_STRIDE + np.arange(BATCH_POINTS, dtype=np.int64)
    ts = START_NS + index * STEP_NS
    return MetricSeries.from_arrays(
        SeriesKey(TENANT, "c1", node, "cpu"), ts, expected_value(node, ts)
    )


def expected_timestamps(batches: int) -> np.ndarray:
    """Timestamps a series holds after ``batches`` overlapping batches."""
    count = (batches - 1) * BATCH_STRIDE + BATCH_POINTS
    return START_NS + np.arange(count, dtype=np.int64) * STEP_NS


def write_batches(storage: StorageBackend, writer: str, batches: int) -> None:
    """Each batch: this writer's own series plus the series both writers share."""
    for batch in range(batches):
        storage.store_metrics([batch_series(f"own-{writer}", batch), batch_series("shared", batch)])


def _crash(storage: StorageBackend, series: int) -> None:
    storage.store_metrics([batch_series("committed", 0)])
    print("committed", flush=True)
    ts = START_NS + np.arange(10_080, dtype=np.int64) * STEP_NS
    big = [
        MetricSeries.from_arrays(SeriesKey(TENANT, "c1", f"big-{i}", "cpu"), ts, ts / 1e9)
        for i in range(series)
    ]
    print("writing", flush=True)
    storage.store_metrics(big)
    print("done", flush=True)


def main(argv: list[str]) -> int:
    url, writer, count = argv[0], argv[1], int(argv[2])
    storage = open_storage(url)
    try:
        if writer == "crash":
            _crash(storage, count)
            return 0
        print("ready", flush=True)
        sys.stdin.readline()
        write_batches(storage, writer, count)
    finally:
        storage.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
