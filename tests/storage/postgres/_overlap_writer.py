"""One of several processes writing overlapping batches into the same series at once.

``python _overlap_writer.py URL NAME`` (repository root on ``PYTHONPATH``) prints ``ready``,
waits for a line on stdin, then writes. Values are a pure function of the timestamp, so the
final contents are known whatever order the processes interleave in.
"""

from __future__ import annotations

import sys

import numpy as np

from backend.analytics.types import MetricSeries, SeriesKey
from backend.storage.postgres import PostgresStorage

BATCHES = 10
POINTS = 400
STRIDE = 200
STEP_NS = 60 * 1_000_000_000
START_NS = 1_704_067_200 * 1_000_000_000 - 100 * STEP_NS  # batches straddle a UTC midnight


def batch(node: str, number: int) -> MetricSeries:
    """Points ``number * STRIDE`` .. ``number * STRIDE + POINTS - 1`` of one series."""
    ts = START_NS + (number * STRIDE + np.arange(POINTS, dtype=np.int64)) * STEP_NS
    return MetricSeries.from_arrays(SeriesKey("conc", "c1", node, "cpu"), ts, ts / STEP_NS)


def main(url: str, name: str) -> int:
    storage = PostgresStorage(url)
    print("ready", flush=True)
    sys.stdin.readline()
    for number in range(BATCHES):
        storage.store_metrics([batch("shared", number), batch(f"own-{name}", number)])
        storage.store_metrics([batch("shared", BATCHES - 1 - number)])
    storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
