"""Several OS processes writing overlapping points into the same series at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.storage.postgres import PostgresStorage

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WRITER = Path(__file__).with_name("_overlap_writer.py")
REPO_ROOT = Path(__file__).resolve().parents[3]
WRITERS = ("a", "b", "c")
BATCHES, POINTS, STRIDE = 10, 400, 200
STEP_NS = 60 * 1_000_000_000
START_NS = 1_704_067_200 * 1_000_000_000 - 100 * STEP_NS


def test_concurrent_processes_lose_and_duplicate_nothing(pg_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), pg_url, name], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for name in WRITERS
    ]  # fmt: skip
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    expected = START_NS + np.arange((BATCHES - 1) * STRIDE + POINTS, dtype=np.int64) * STEP_NS
    with PostgresStorage(pg_url) as storage:
        for node in ("shared", *(f"own-{w}" for w in WRITERS)):
            got = storage.get_metric_series("conc", "c1", node, "cpu")
            np.testing.assert_array_equal(got.timestamps_ns, expected)
            np.testing.assert_array_equal(got.values_array, expected / STEP_NS)
        assert storage.get_stats()["total_points"] == 4 * expected.size
