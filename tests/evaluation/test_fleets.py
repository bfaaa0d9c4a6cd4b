from __future__ import annotations

import dataclasses

import pytest

from backend.detection.default_engine import DefaultAnomalyEngine
from backend.errors import ValidationError
from backend.evaluation.fleet import FleetEvaluation, evaluate_fleet, evaluation_fleet_spec
from backend.evaluation.fleets import (
    FLEET_TARGETS,
    FleetTargets,
    parse_seeds,
    pool_fleets,
    wilson_interval,
)
from backend.evaluation.report import fleets_table, fleets_to_dict
from backend.simulator.fleet import simulate_fleet


@pytest.fixture(scope="module")
def two_fleets() -> tuple[FleetEvaluation, FleetEvaluation]:
    engine = DefaultAnomalyEngine()
    return tuple(  # type: ignore[return-value]
        evaluate_fleet(
            engine,
            simulate_fleet(evaluation_fleet_spec(16, seed, anomaly_ratio=0.5, num_points=900)),
        )
        for seed in (1, 2)
    )


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("1-4", (1, 2, 3, 4)), ("3, 1,2", (3, 1, 2)), ("1-3,2,7", (1, 2, 3, 7)), ("5", (5,))],
)
def test_parse_seeds_reads_ranges_and_lists(text: str, seeds: tuple[int, ...]) -> None:
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize(("text", "reason"), [
    ("one", "neither a seed nor a range"),
    ("5-1", "runs backwards"),
    (" , ", "at least one seed"),
    ("1-5000", "at most"),
])  # fmt: skip
def test_parse_seeds_names_the_option_and_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValidationError, match="--seeds") as error:
        parse_seeds(text)
    assert reason in str(error.value)


def test_wilson_interval_brackets_the_share_and_narrows_with_more_trials() -> None:
    small = wilson_interval(18, 20)
    large = wilson_interval(1800, 2000)
    for low, high in (small, large):
        assert low < 0.9 < high
    assert large[1] - large[0] < small[1] - small[0]
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert 0.0 < wilson_interval(10, 10)[0] < 1.0  # all found still leaves doubt
    with pytest.raises(ValidationError, match="successes"):
        wilson_interval(11, 10)


def test_pool_fleets_sums_counts_rather_than_averaging_shares(two_fleets) -> None:
    first, second = two_fleets
    result = pool_fleets((1, 2), two_fleets)
    pooled = result.pooled
    for name in ("series", "points", "events", "detected", "kind_right", "alarms"):
        assert getattr(pooled, name) == getattr(first, name) + getattr(second, name)
    assert pooled.false_alarms == first.false_alarms + second.false_alarms
    assert pooled.recall == pytest.approx(pooled.detected / pooled.events)
    for kind, stats in pooled.per_kind.items():
        parts = [f.per_kind[kind] for f in two_fleets if kind in f.per_kind]
        assert stats.events == sum(p.events for p in parts)
        assert stats.detected == sum(p.detected for p in parts)
    for metric, stats in pooled.per_metric.items():
        parts = [f.per_metric[metric] for f in two_fleets if metric in f.per_metric]
        assert stats.normal_points == sum(p.normal_points for p in parts)
    low, high = result.recall_interval
    assert low <= pooled.recall <= high
    assert pooled.threshold == first.threshold


def test_fleets_meeting_counts_each_target_per_fleet(two_fleets) -> None:
    first, second = two_fleets
    lenient = FleetTargets(recall=0.0, false_alarms_per_10k=1e9, kind_accuracy=0.0)
    strict = FleetTargets(recall=1.01, false_alarms_per_10k=-1.0, kind_accuracy=1.01)
    assert pool_fleets((1, 2), two_fleets, lenient).fleets_meeting("recall") == 2
    assert pool_fleets((1, 2), two_fleets, strict).fleets_meeting("kind_accuracy") == 0
    cut = FleetTargets(recall=max(first.recall, second.recall))
    assert pool_fleets((1, 2), two_fleets, cut).fleets_meeting("recall") >= 1
    assert FLEET_TARGETS.recall == 0.95 and FLEET_TARGETS.false_alarms_per_10k == 1.0


def test_pool_fleets_refuses_mismatched_inputs(two_fleets) -> None:
    with pytest.raises(ValidationError, match="one evaluation per seed"):
        pool_fleets((1, 2, 3), two_fleets)
    other = dataclasses.replace(two_fleets[1], engine="merlion")
    with pytest.raises(ValidationError, match="one engine"):
        pool_fleets((1, 2), (two_fleets[0], other))


def test_fleets_report_has_a_row_per_seed_and_the_pooled_figures(two_fleets) -> None:
    result = pool_fleets((1, 2), two_fleets)
    table = fleets_table(result)
    assert table.row_count == 3
    report = fleets_to_dict(result)
    assert [row["seed"] for row in report["per_seed"]] == [1, 2]
    assert report["pooled"]["events"] == result.pooled.events
    assert report["pooled_recall_interval"] == list(result.recall_interval)
    assert set(report["fleets_meeting"]) == {"recall", "false_alarms_per_10k", "kind_accuracy"}
