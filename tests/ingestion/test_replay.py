"""Replay: global time order, ticks, pacing at a chosen speed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from backend.analytics.types import MetricSeries
from backend.errors import SeriesValidationError, ValidationError
from backend.ingestion.pipeline import IngestionPipeline
from backend.ingestion.replay import ReplayBatch, replay
from backend.ingestion.validator import MetricValidator
from backend.storage.memory_storage import InMemoryStorage

T0 = 1_704_067_200


def make(node: str, offsets: list[int], values: list[float]) -> MetricSeries:
    return MetricSeries("acme", "prod", node, "cpu_usage", [T0 + o for o in offsets], values)


class FakeClock:
    """Wall time that only moves when the replay sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_replay_emits_global_time_order_in_ticks() -> None:
    a = make("a", [0, 60, 120], [1.0, 2.0, 3.0])
    b = make("b", [30, 60, 150], [10.0, 20.0, 30.0])
    batches: list[ReplayBatch] = []

    summary = replay([a, b], batches.append, speed=0, show_progress=False)

    points = [(key.node_id, ts.second + 60 * ts.minute, v) for b_ in batches
              for key, ts, v in b_.points()]  # fmt: skip
    assert points == [("a", 0, 1.0), ("b", 30, 10.0), ("a", 60, 2.0), ("b", 60, 20.0),
                      ("a", 120, 3.0), ("b", 150, 30.0)]  # fmt: skip
    assert [len(batch) for batch in batches] == [2, 2, 2]
    assert (summary.series, summary.points, summary.ticks) == (2, 6, 3)


def test_replay_paces_ticks_at_speed() -> None:
    clock = FakeClock()
    series = make("a", [0, 60, 120, 600], [1.0, 2.0, 3.0, 4.0])
    emitted_at: list[float] = []

    replay(series, lambda batch: emitted_at.append(clock()), speed=10.0, show_progress=False,
           sleep=clock.sleep, clock=clock)  # fmt: skip

    assert emitted_at == pytest.approx([100.0, 106.0, 112.0, 160.0])


def test_replay_infinite_speed_never_sleeps() -> None:
    clock = FakeClock()

    replay(make("a", [0, 3600], [1.0, 2.0]), lambda b: None, speed=float("inf"),
           show_progress=False, sleep=clock.sleep, clock=clock)  # fmt: skip

    assert clock.sleeps == []


def test_replay_batch_to_series_feeds_pipeline() -> None:
    storage = InMemoryStorage()
    pipeline = IngestionPipeline(None, MetricValidator(max_future_seconds=None), storage)
    a, b = make("a", [0, 60, 120], [1.0, 2.0, 3.0]), make("b", [0, 90], [5.0, 6.0])

    replay([a, b], lambda batch: pipeline.ingest_series("acme", batch.to_series()), speed=0,
           tick_seconds=60, show_progress=False)  # fmt: skip

    assert storage.get_metric_series(*a.key) == a
    assert storage.get_metric_series(*b.key) == b


def test_replay_from_file_with_progress(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("cluster_id,node_id,metric_name,timestamp,value\n"
                    "prod,n1,cpu_usage,1704067260,2\n"
                    "prod,n1,cpu_usage,1704067200,1\n")  # fmt: skip
    console = Console(record=True, force_terminal=False, width=80)
    values: list[float] = []

    summary = replay(path, lambda b: values.extend(b.values.tolist()), speed=0, tenant_id="acme",
                     console=console)  # fmt: skip

    assert values == [1.0, 2.0]
    assert summary.points == 2
    assert "replaying" in console.export_text()


def test_replay_file_with_bad_rows_raises(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("tenant_id,cluster_id,node_id,metric_name,timestamp,value\n"
                    "acme,prod,n1,cpu_usage,1704067200,oops\n")  # fmt: skip

    with pytest.raises(SeriesValidationError, match="not a number"):
        replay(path, lambda b: None, speed=0, show_progress=False)


def test_replay_empty_source_emits_nothing() -> None:
    summary = replay([], lambda b: pytest.fail("no batch expected"), show_progress=False)

    assert (summary.points, summary.ticks) == (0, 0)


@pytest.mark.parametrize(("speed", "tick"), [(-1.0, 60.0), (float("nan"), 60.0), (1.0, 0.0)])
def test_replay_bad_speed_or_tick_named(speed: float, tick: float) -> None:
    with pytest.raises(ValidationError):
        replay(make("a", [0], [1.0]), lambda b: None, speed=speed, tick_seconds=tick)


def test_replay_batch_to_series_groups_by_key() -> None:
    batch = ReplayBatch(
        0, (make("a", [0], [0.0]).key, make("b", [0], [0.0]).key), np.array([1, 0, 1]),
        np.array([T0, T0 + 1, T0 + 2]) * 10**9, np.array([1.0, 2.0, 3.0]),
    )  # fmt: skip

    a, b = batch.to_series()

    assert (a.node_id, a.values) == ("a", [2.0])
    assert (b.node_id, b.values) == ("b", [1.0, 3.0])
