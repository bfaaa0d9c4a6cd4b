"""Storage conformance under concurrency and across reopening.

Two writers run at once: OS processes for persistent backends (the same file or database from
two programs), threads for in-memory ones. Persistent backends must also keep everything across
a reopen and keep a batch all-or-nothing when the writing process is killed mid-write.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import pytest

from backend.analytics.types import AggregatedAnomalyScore, AnomalyResult, MetricSeries, SeriesKey
from backend.storage import ApiKeyRecord, StorageBackend

if TYPE_CHECKING:
    from conftest import StoreFactory

WRITER_SCRIPT = Path(__file__).with_name("_writer_process.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
BATCHES = 12
BIG_SERIES = 300


def _writer_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_storage_writer", WRITER_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _spawn(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, str(WRITER_SCRIPT), url, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _run_writers_in_processes(factory: StoreFactory, writers: list[str]) -> None:
    procs = [_spawn(factory.url, writer, str(BATCHES)) for writer in writers]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


def _run_writers_in_threads(storage: StorageBackend, writers: list[str]) -> None:
    module = _writer_module()
    errors: list[BaseException] = []
    start = threading.Barrier(len(writers))

    def work(writer: str) -> None:
        try:
            start.wait()
            module.write_batches(storage, writer, BATCHES)
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []


@pytest.mark.slow
def test_two_concurrent_writers_lose_and_duplicate_nothing(storage_factory: StoreFactory) -> None:
    storage = storage_factory.open()
    if storage_factory.persistent:
        _run_writers_in_processes(storage_factory, ["a", "b"])
    else:
        _run_writers_in_threads(storage, ["a", "b"])
    module = _writer_module()
    expected_ts = module.expected_timestamps(BATCHES)
    for node in ("own-a", "own-b", "shared"):
        got = storage.get_metric_series(module.TENANT, "c1", node, "cpu")
        np.testing.assert_array_equal(got.timestamps_ns, expected_ts)
        np.testing.assert_array_equal(got.values_array, module.expected_value(node, expected_ts))
    assert storage.get_stats()["total_points"] == 3 * expected_ts.size


def test_threads_read_while_others_write(storage: StorageBackend) -> None:
    errors: list[BaseException] = []
    ts = np.arange(1, 201, dtype=np.int64) * 60_000_000_000

    def write(node: str) -> None:
        try:
            for i in range(0, 200, 20):
                key = SeriesKey("t1", "c1", node, "cpu")
                storage.store_metrics(
                    [MetricSeries.from_arrays(key, ts[i : i + 20], ts[i : i + 20] / 1e9)]
                )
                got = storage.get_metric_series("t1", "c1", node, "cpu")
                if got.length != i + 20:
                    raise AssertionError(f"{node}: {got.length} points after {i + 20} written")
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"n{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert storage.get_stats()["total_points"] == 4 * 200


def test_reopen_keeps_everything(persistent_factory: StoreFactory) -> None:
    first = persistent_factory.open()
    created = datetime(2024, 1, 1, tzinfo=UTC)
    series = MetricSeries(
        "t1",
        "c1",
        "n1",
        "cpu",
        [created, datetime(2024, 1, 2, tzinfo=UTC)],
        [1.5, 2.5],
        {"unit": "%"},
    )
    first.store_metrics([series])
    first.store_anomaly_results(
        "t1", [AnomalyResult("t1", "c1", "n1", "cpu", created, created, 0.9, "spike")]
    )
    first.store_aggregated_scores([AggregatedAnomalyScore("t1", 0.8, "c1", timestamp=created)])
    first.save_detector_state(series.key, "default", b"state")
    first.save_api_key(ApiKeyRecord("k1", "t1", "admin", "h1", created))
    stats, anomalies = first.get_stats(), first.query_anomalies("t1")
    first.close()

    second = persistent_factory.open()
    assert second.get_metric_series("t1", "c1", "n1", "cpu", start_time=created) == series
    assert second.query_anomalies("t1") == anomalies
    assert second.query_aggregated_scores("t1")[0].aggregate_score == 0.8
    assert second.load_detector_state(series.key, "default") == b"state"
    assert second.find_api_key("h1") == ApiKeyRecord("k1", "t1", "admin", "h1", created)
    assert second.get_stats() == stats


@pytest.mark.slow
def test_killed_writer_leaves_batch_all_or_nothing(persistent_factory: StoreFactory) -> None:
    persistent_factory.open()  # create the store before the child races to
    proc = _spawn(persistent_factory.url, "crash", str(BIG_SERIES))
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "committed"
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.3)  # the big batch takes longer than this to write
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)

    storage = persistent_factory.open()
    module = _writer_module()
    committed = storage.get_metric_series(module.TENANT, "c1", "committed", "cpu")
    assert committed.length == module.BATCH_POINTS
    big = [key for key in storage.list_series(module.TENANT) if key.node_id.startswith("big-")]
    assert len(big) in (0, BIG_SERIES)
    assert storage.get_stats()["total_points"] == module.BATCH_POINTS + len(big) * 10_080
