"""Writes numbered batches to PostgreSQL forever, printing ``ack N`` after each commit.

``python _ack_writer.py URL`` (repository root on ``PYTHONPATH``). The durability test kills it
with SIGKILL at an arbitrary moment and then checks every acknowledged batch is stored.
"""

from __future__ import annotations

import sys

import numpy as np

from backend.analytics.types import MetricSeries, SeriesKey
from backend.storage.postgres import PostgresStorage

SERIES = 20
POINTS = 500
STEP_NS = 60 * 1_000_000_000
START_NS = 1_704_067_200 * 1_000_000_000


def batch(number: int) -> list[MetricSeries]:
    """Batch ``number``: the next POINTS minutes of every series; values name the batch."""
    ts = START_NS + (number * POINTS + np.arange(POINTS, dtype=np.int64)) * STEP_NS
    return [
        MetricSeries.from_arrays(
            SeriesKey("dur", "c1", f"n{i}", "cpu"), ts, np.full(POINTS, number + i / 100)
        )
        for i in range(SERIES)
    ]


def main(url: str) -> int:
    storage = PostgresStorage(url)
    number = 0
    while True:
        storage.store_metrics(batch(number))
        print(f"ack {number}", flush=True)
        number += 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
