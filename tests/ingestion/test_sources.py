"""MetricSource protocol and SimulatorSource."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend.errors import ValidationError
from backend.ingestion.files import FileSource
from backend.ingestion.sources import MetricSource, SimulatorSource
from backend.simulator.generator import SimulatorConfig

START = datetime(2024, 1, 1)


def test_simulator_source_points_every_interval_inclusive() -> None:
    source = SimulatorSource(SimulatorConfig(seed=5, sampling_interval_seconds=30))

    series = source.collect("t1", "c1", "n1", "cpu_usage", START, START + timedelta(minutes=5))

    assert series.length == 11
    assert series.time_range == (START, START + timedelta(minutes=5))
    assert series.metadata["unit"] == "percent"


def test_simulator_source_end_between_samples_stops_before_it() -> None:
    source = SimulatorSource(SimulatorConfig(seed=5))

    series = source.collect("t1", "c1", "n1", "latency", START, START + timedelta(seconds=150))

    assert series.timestamps[-1] == START + timedelta(minutes=2)


def test_simulator_source_seeded_is_reproducible() -> None:
    end = START + timedelta(hours=1)

    first = SimulatorSource(SimulatorConfig(seed=9)).collect("t", "c", "n", "disk_io", START, end)
    again = SimulatorSource(SimulatorConfig(seed=9)).collect("t", "c", "n", "disk_io", START, end)

    assert first == again


def test_simulator_source_aware_bounds_give_aware_timestamps() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)

    series = SimulatorSource().collect("t", "c", "n", "cpu_usage", start, start)

    assert series.timestamps[0] == start


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [(START, START - timedelta(seconds=1), "end_time"), (None, START, "start_time")],
)
def test_simulator_source_bad_range_named(start: object, end: object, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        SimulatorSource().collect("t", "c", "n", "cpu_usage", start, end)

    assert info.value.field == field


def test_sources_satisfy_protocol(tmp_path: Path) -> None:
    assert isinstance(SimulatorSource(), MetricSource)
    assert isinstance(FileSource(tmp_path / "m.csv"), MetricSource)
