"""Acknowledged writes survive ``kill -9`` of the application; unacknowledged ones are atomic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.storage.postgres import PostgresStorage

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WRITER = Path(__file__).with_name("_ack_writer.py")
REPO_ROOT = Path(__file__).resolve().parents[3]
SERIES, POINTS = 20, 500


def _kill_after_acks(url: str, acks: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    last = -1
    try:
        for line in proc.stdout:
            last = int(line.split()[1])
            if last + 1 >= acks:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()
    assert last + 1 >= acks, "writer stopped before acknowledging enough batches"
    return last


@pytest.mark.parametrize("acks", [3, 9])
def test_acknowledged_batches_survive_kill_9_and_restart(pg_url: str, acks: int) -> None:
    last_acked = _kill_after_acks(pg_url, acks)
    with PostgresStorage(pg_url) as restarted:
        counts = set()
        for i in range(SERIES):
            series = restarted.get_metric_series("dur", "c1", f"n{i}", "cpu")
            batches = series.values_array.astype(np.int64)
            stored = int(batches.max()) + 1
            assert stored - 1 >= last_acked  # every acknowledged batch is there ...
            assert stored - 1 <= last_acked + 1  # ... at most the one in flight besides
            assert series.length == stored * POINTS  # and no batch is partial
            np.testing.assert_array_equal(np.bincount(batches), np.full(stored, POINTS))
            counts.add(stored)
        assert len(counts) == 1  # the batch in flight is in every series or in none
        assert restarted.get_stats()["total_points"] % (SERIES * POINTS) == 0
