"""Memory that leaks for hours until a restart: one pass tells one drift that fell back, and
live runs tell the drift as it goes and the restart as the step back to usual."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backend.analytics.types import MetricSeries
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.runner import IncrementalDetector
from backend.detection.told import BACK_AT, READ_FROM
from backend.storage import open_storage
from tests.detection._series import LEAK_DAYS, RESTART, leak_then_restart

N = LEAK_DAYS * 1440
RESTART_AT = datetime(2024, 1, 5, 10, 0)


def _leak(seed: int = 7, amount: float = 35.0, hours: int = 8, noise: float = 3.0) -> MetricSeries:
    return leak_then_restart(amount, hours, seed, noise)


def test_one_pass_tells_the_leak_and_its_restart_as_one_drift_that_fell_back() -> None:
    (result,) = [r for r in DefaultAnomalyEngine().detect(_leak()) if r.is_anomaly]
    assert result.anomaly_kind == "drift"
    assert result.window_start < RESTART_AT <= result.window_end  # the restart joined it
    assert result.engine_metadata[BACK_AT] == "2024-01-05T09:59:00"
    assert result.explanation is not None
    assert result.explanation.startswith("memory_used on n1 drifted up between 2024-01-05 02:")
    assert result.explanation.endswith("then fell back near its usual level")


def _live(series: MetricSeries, path: Path) -> list[dict[str, Any]]:
    """The anomalies stored by a run every five minutes over the last day."""
    storage = open_storage(f"sqlite:///{path}")
    detector = IncrementalDetector(storage, fleet_calibration=False)
    ts, values = series.timestamps_ns, series.values_array
    for a, b in itertools.pairwise([0, 4 * 1440, *range(4 * 1440 + 5, N, 5), N]):
        storage.store_metrics([series.with_arrays(ts[a:b], values[a:b])])
        detector.run("t1")
    return [r for r in storage.query_anomalies("t1", min_score=0.0) if r["anomaly_kind"]]


def test_live_runs_tell_the_restart_as_the_step_back_to_usual(tmp_path: Path) -> None:
    rows = _live(_leak(), tmp_path / "leak.db")
    assert [r["anomaly_kind"] for r in rows] == ["drift", "level_shift"]
    drift, restart = rows
    assert drift["explanation"].startswith("memory_used on n1 has been drifting up since ")
    assert restart["window_start"] == RESTART_AT
    text = restart["explanation"]
    assert text.startswith("memory_used on n1 shifted down from 7")
    assert ", back near its usual level (usual at 10:00: 4" in text


@pytest.mark.parametrize(("seed", "amount", "hours"), [(5, 20.0, 3), (8, 10.0, 2)])
def test_a_leak_that_first_alarms_at_its_restart_is_told_whole(
    seed: int, amount: float, hours: int
) -> None:
    (result,) = [
        r for r in DefaultAnomalyEngine().detect(_leak(seed, amount, hours, 0.8)) if r.is_anomaly
    ]
    assert result.anomaly_kind == "drift"
    assert result.window_start == RESTART_AT
    assert result.explanation is not None
    assert " drifted up between " in result.explanation
    assert result.explanation.endswith("then fell back near its usual level")


def test_a_drift_told_again_at_its_restart_and_the_restarts_echo_are_one_result() -> None:
    """A day-level alarm tells the leak under way; the restart alarms twice (the day level,
    then the short volatility a few minutes on). The restart's reading (the leak from where
    it began to where it fell back) joins the first alarm, and the volatility's echo joins
    it: one result, told to its end."""
    results = [r for r in DefaultAnomalyEngine().detect(_leak(4, 20.0, 8, 0.8)) if r.is_anomaly]
    assert [r.anomaly_kind for r in results] == ["drift"]
    (leak,) = results
    assert leak.window_start < RESTART_AT < leak.window_end
    assert leak.explanation is not None
    assert leak.explanation.startswith("memory_used on n1 drifted up between 2024-01-05 02:0")
    assert leak.explanation.endswith("then fell back near its usual level")


def test_live_runs_join_a_drift_told_again_at_its_restart(tmp_path: Path) -> None:
    one_pass = [r for r in DefaultAnomalyEngine().detect(_leak(4, 20.0, 8, 0.8)) if r.is_anomaly]
    rows = _live(_leak(4, 20.0, 8, 0.8), tmp_path / "leak.db")
    assert [(r["window_start"], r["window_end"], r["explanation"]) for r in rows] == [
        (r.window_start, r.window_end, r.explanation) for r in one_pass
    ]
    assert rows[0]["engine_metadata"][READ_FROM] == RESTART_AT.isoformat()


def test_a_restart_that_frees_only_part_of_a_leak_ends_the_drift_where_it_fell() -> None:
    """The drift ends at the restart and says where it fell, not "since 02:03 … to 56.8 %
    (1.0 % per hour)", the change since the leak began read across the restart."""
    series = leak_then_restart(35.0, 8, seed=6, noise=0.8, left=15.0)
    (result,) = [r for r in DefaultAnomalyEngine().detect(series) if r.is_anomaly]
    assert result.anomaly_kind == "drift"
    assert result.window_end >= RESTART_AT
    assert result.explanation is not None
    assert " drifted up between 2024-01-05 02:0" in result.explanation
    after = float(np.median(series.values_array[RESTART : RESTART + 20]))
    assert result.explanation.endswith(f"then fell back to {after:.1f} %")
