"""The jump back at the end of an excursion joins it: a plateau of hours is one result, in
one pass and in live runs alike."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from backend.analytics.types import AnomalyResult, MetricSeries, SeriesKey
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.jump_back import absorb_jumps_back
from backend.detection.runner import IncrementalDetector
from backend.detection.streaming.detector import STATISTIC_NAMES
from backend.detection.told import BACK_AT, BACK_FROM, BACK_TO, JUMP_FROM, ONSET, READ_FROM
from backend.storage import StorageBackend, open_storage

T0 = datetime(2024, 1, 1)
MINUTE_NS = 60 * 10**9
START_NS = 1_704_067_200 * 10**9  # T0
KEY = SeriesKey("t1", "c1", "n1", "throughput")
N = 4 * 1440
OUTAGE = 3 * 1440 + 600  # 10:00 on the fourth day
TOLERANCE_NS = 4 * MINUTE_NS


@pytest.fixture
def storage(tmp_path: Path) -> StorageBackend:
    return open_storage(f"sqlite:///{tmp_path / 'jump_back.db'}")


def _at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def _result(
    first: int, last: int, back: int | None = None, label: str = "trend", value: float = 700.0
) -> AnomalyResult:
    """A result whose peak's modelled value is ``value``; with ``back``, an excursion from
    700 down to 230 that ended at minute ``back``."""
    metadata: dict[str, object] = {"modelled": value}
    if back is not None:
        metadata.update({BACK_AT: _at(back).isoformat(), BACK_TO: 700.0, BACK_FROM: 230.0})
    return AnomalyResult(*KEY, _at(first), _at(last), 0.8, label, engine_metadata=metadata)


def _outage(minutes: int = 120) -> MetricSeries:
    """Four days of requests with a daily cycle; traffic cut to 30 % for ``minutes``."""
    day = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N) / 1440)
    values = 500 + 300 * day + np.random.default_rng(5).normal(0, 15, N)
    values[OUTAGE : OUTAGE + minutes] *= 0.3
    ts = START_NS + np.arange(N, dtype=np.int64) * MINUTE_NS
    return MetricSeries.from_arrays(KEY, ts, values, metadata={"unit": "requests/s"})


# --- the pieces ------------------------------------------------------------------------------
def test_an_alarm_just_after_an_excursion_ended_joins_it() -> None:
    shift, back = _result(600, 606, back=719), _result(720, 721)
    grown, gone = absorb_jumps_back([shift, back], TOLERANCE_NS)
    assert gone is None and grown is not None
    assert (grown.window_start, grown.window_end) == (_at(600), _at(721))
    assert (grown.anomaly_kind, grown.explanation) == (shift.anomaly_kind, shift.explanation)
    # later runs read it from its own window, not from the jump
    assert grown.engine_metadata[JUMP_FROM] == _at(606).isoformat()


def test_an_overshoot_far_beyond_the_level_left_is_an_anomaly_of_its_own() -> None:
    shift = _result(600, 606, back=719)  # 700 down to 230, back at 720
    overshoot, near = _result(720, 721, value=1500.0), _result(720, 721, value=600.0)
    assert absorb_jumps_back([shift, overshoot], TOLERANCE_NS) == [shift, overshoot]
    assert absorb_jumps_back([shift, near], TOLERANCE_NS)[1] is None
    no_value = dataclasses.replace(near, engine_metadata={})
    assert absorb_jumps_back([shift, no_value], TOLERANCE_NS) == [shift, no_value]


def test_alarms_inside_the_excursion_and_its_echoes_join_it_too() -> None:
    shift = _result(600, 606, back=719)
    inside = _result(650, 651, value=230.0)  # another alarm while the plateau lasted
    grown, gone = absorb_jumps_back([shift, inside], TOLERANCE_NS)
    assert gone is None and grown is not None and grown.window_end == _at(651)
    # the level swing averages the plateau's hours: its alarm soon after is the echo
    echo = _result(760, 760, value=700.0)
    echo = dataclasses.replace(echo, engine_metadata={**echo.engine_metadata,
                                                      "statistic": "slow_swing"})  # fmt: skip
    hours = 48 * MINUTE_NS
    assert absorb_jumps_back([shift, echo], TOLERANCE_NS, hours)[1] is None
    assert absorb_jumps_back([shift, echo], TOLERANCE_NS)[1] is echo  # no echo span: apart
    point = dataclasses.replace(echo, engine_metadata={"modelled": 700.0})
    assert absorb_jumps_back([shift, point], TOLERANCE_NS, hours)[1] is point  # no echo


def test_the_short_volatility_just_after_an_excursion_is_its_echo() -> None:
    shift = _result(600, 606, back=719)
    # wherever its value lies: the volatility still averages the jump's few points
    echo = _result(726, 727, value=1500.0)
    echo = dataclasses.replace(echo, engine_metadata={**echo.engine_metadata,
                                                      "statistic": "volatility"})  # fmt: skip
    ten_points = 10 * MINUTE_NS
    assert absorb_jumps_back([shift, echo], TOLERANCE_NS, 0, ten_points)[1] is None
    assert absorb_jumps_back([shift, echo], TOLERANCE_NS) == [shift, echo]
    later = dataclasses.replace(echo, window_start=_at(740), window_end=_at(741))
    assert absorb_jumps_back([shift, later], TOLERANCE_NS, 0, ten_points)[1] is later


def _change(
    first: int, last: int, onset: int, kind: str, text: str, **told: object
) -> AnomalyResult:
    """A result telling a level shift or drift that began at minute ``onset``."""
    metadata: dict[str, object] = {"modelled": 700.0, ONSET: _at(onset).isoformat(), **told}
    return AnomalyResult(*KEY, _at(first), _at(last), 0.8, "trend", explanation=text,
                         engine_metadata=metadata, anomaly_kind=kind)  # fmt: skip


def test_a_drift_told_to_where_it_fell_back_joins_the_alarm_on_it() -> None:
    earlier = _change(600, 606, 500, "drift", "has been drifting up since 08:20")
    ended = {BACK_AT: _at(899).isoformat(), BACK_TO: 40.0, BACK_FROM: 63.0}
    later = _change(900, 901, 500, "drift", "drifted up between 08:20 and 14:59 …", **ended)
    grown, gone = absorb_jumps_back([earlier, later], TOLERANCE_NS)
    assert gone is None and grown is not None
    assert (grown.window_start, grown.window_end) == (_at(600), _at(901))
    assert grown.explanation == later.explanation  # read with more points
    assert grown.engine_metadata[BACK_AT] == _at(899).isoformat()
    assert grown.engine_metadata[READ_FROM] == _at(900).isoformat()  # told again from there
    # a change that began after the earlier alarm, or one still under way, stays apart
    newer = _change(900, 901, 700, "drift", "drifted up between 11:40 and 14:59 …", **ended)
    assert absorb_jumps_back([earlier, newer], TOLERANCE_NS) == [earlier, newer]
    going = _change(900, 901, 500, "drift", "has been drifting up since 08:20")
    assert absorb_jumps_back([earlier, going], TOLERANCE_NS) == [earlier, going]


def test_a_held_level_shift_told_again_later_is_one_result() -> None:
    held = _change(600, 606, 600, "level_shift", "… and has stayed there for 1 h", level_held=True)
    again = _change(2000, 2001, 600, "level_shift", "… and has stayed there for 23 h")
    grown, gone = absorb_jumps_back([held, again], TOLERANCE_NS)
    assert gone is None and grown is not None and grown.window_end == _at(2001)
    assert grown.explanation == again.explanation
    # a shift told as ended, or another kind of change, is no held level to join
    ended = dataclasses.replace(held, engine_metadata={**held.engine_metadata, "level_held": False})
    assert absorb_jumps_back([ended, again], TOLERANCE_NS) == [ended, again]
    drift = _change(2000, 2001, 600, "drift", "has been drifting up since 10:00")
    assert absorb_jumps_back([held, drift], TOLERANCE_NS) == [held, drift]


def test_alarms_too_late_or_without_an_end_stay_apart() -> None:
    shift = _result(600, 606, back=719)
    late = _result(730, 731)
    unmarked = _result(600, 606)
    assert absorb_jumps_back([shift, late], TOLERANCE_NS) == [shift, late]
    assert absorb_jumps_back([unmarked, _result(720, 721)], TOLERANCE_NS)[1] is not None
    normal = _result(720, 800, label="normal")
    assert absorb_jumps_back([shift, normal], TOLERANCE_NS) == [shift, normal]


# --- in the engine and the runner ------------------------------------------------------------
def test_one_pass_tells_a_two_hour_outage_as_one_result() -> None:
    found = [r for r in DefaultAnomalyEngine().detect(_outage()) if r.is_anomaly]
    late = [r for r in found if r.window_end >= _at(OUTAGE)]
    assert len(late) == 1
    (outage,) = late
    assert outage.window_start == _at(OUTAGE) and outage.window_end >= _at(OUTAGE + 120)
    assert outage.anomaly_kind == "level_shift"
    assert outage.explanation is not None
    assert "shifted down" in outage.explanation
    assert outage.explanation.endswith("and came back after 2 h")


def test_live_runs_tell_a_two_hour_outage_as_one_pass_does(storage: StorageBackend) -> None:
    series = _outage()
    ts, values = series.timestamps_ns, series.values_array
    detector = IncrementalDetector(storage, fleet_calibration=False)
    cuts = [0, 3 * 1440, *range(3 * 1440 + 5, N, 5), N]
    for a, b in itertools.pairwise(cuts):  # a run every five minutes
        storage.store_metrics([series.with_arrays(ts[a:b], values[a:b])])
        detector.run("t1")
    rows = [
        r
        for r in storage.query_anomalies("t1", min_score=0.0)
        if r["anomaly_kind"] and r["window_end"] >= _at(OUTAGE)
    ]
    (one_pass,) = [
        r
        for r in DefaultAnomalyEngine().detect(series)
        if r.is_anomaly and r.window_end >= _at(OUTAGE)
    ]
    assert [(r["window_start"], r["window_end"], r["explanation"]) for r in rows] == [
        (one_pass.window_start, one_pass.window_end, one_pass.explanation)
    ]


def test_a_one_hour_plateau_its_inner_alarms_and_its_echo_are_one_result(
    storage: StorageBackend,
) -> None:
    """CPU lifted by 7.5 noise sd for an hour: besides its start, the level swing (which
    averages hours) alarms after it; that echo is part of the same incident."""
    n, start = 3 * 1440, 2 * 1440 + 100
    values = 50.0 + np.random.default_rng(1).normal(0.0, 2.0, n)
    values[start : start + 60] += 15.0
    ts = START_NS + np.arange(n, dtype=np.int64) * MINUTE_NS
    series = MetricSeries.from_arrays(SeriesKey("t1", "c1", "n1", "cpu_usage"), ts, values)
    engine = DefaultAnomalyEngine()
    scored = engine.score_series(series)
    hot = np.flatnonzero(scored.scores[start:] >= engine.threshold)
    swing = STATISTIC_NAMES.index("slow_swing")
    assert swing in scored.statistic[start + hot]  # the echo this test is about still occurs
    found = [r for r in engine.detect(series) if r.is_anomaly and r.window_end >= _at(start)]
    assert len(found) == 1
    assert found[0].explanation is not None
    assert found[0].explanation.endswith("and came back after 1 h")
    detector = IncrementalDetector(storage, fleet_calibration=False)
    for a, b in itertools.pairwise([0, 2 * 1440, *range(2 * 1440 + 5, n, 5), n]):
        storage.store_metrics([series.with_arrays(ts[a:b], values[a:b])])
        detector.run("t1")
    rows = [r for r in storage.query_anomalies("t1", min_score=0.0) if r["anomaly_kind"]]
    late = [r for r in rows if r["window_end"] >= _at(start)]
    assert [(r["window_start"], r["explanation"]) for r in late] == [
        (found[0].window_start, found[0].explanation)
    ]
