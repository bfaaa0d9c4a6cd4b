"""A restart after a memory leak: a step back from a level that was itself unusual.

Memory leaks for hours and a restart drops it back to where it usually is at that hour. Told
from the usual level, the restart read "shifted down from 43.9 % to 43.4 % (-1 %)": it is
told from the level it left, and says it landed back near usual.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.analytics.explain import (
    AnomalyExplanation,
    AnomalyKind,
    AnomalyType,
    ExplanationClassifier,
    ExplanationTemplateRegistry,
)
from backend.analytics.explain_templates import template_fields
from backend.analytics.types import AnomalyResult, MetricSeries
from tests.detection._series import RESTART, leak_then_restart

NOISE = 0.8
_ONSET_SLACK = timedelta(minutes=15)


def _leak(amount: float = 35.0, hours: int = 8, seed: int = 3) -> MetricSeries:
    return leak_then_restart(amount, hours, seed, NOISE)


def _flag(series: MetricSeries, first: int, last: int) -> AnomalyResult:
    stamps = series.timestamps
    return AnomalyResult(*series.key, stamps[first], stamps[last], 0.9, "trend")


def _percent(text: str, label: str) -> float:
    """The first number after ``label`` in ``text``."""
    found = re.search(re.escape(label) + r" (-?[\d.]+) %", text)
    assert found is not None, text
    return float(found.group(1))


def test_a_restart_after_a_leak_is_told_from_the_level_it_left() -> None:
    series = _leak()
    explanation = ExplanationClassifier().classify(series, _flag(series, RESTART, RESTART + 6))
    assert explanation.anomaly_kind is AnomalyKind.LEVEL_SHIFT
    peak = float(np.median(series.values_array[RESTART - 10 : RESTART]))
    assert explanation.additional_context["level_before"] == pytest.approx(peak, abs=1.5)
    # what is usual at 10:00 and where it landed stay the baseline and the observed value
    assert explanation.baseline_value == pytest.approx(43.9, abs=1.0)
    assert explanation.observed_value == pytest.approx(43.4, abs=1.0)
    text = explanation.description
    assert text.startswith("memory_used on n1 shifted down from ")
    assert _percent(text, "shifted down from") == pytest.approx(peak, abs=1.5)
    assert _percent(text, "to") == pytest.approx(43.4, abs=1.0)
    assert "(-4" in text  # the step's own size: about -45 %, not the -1 % against usual
    assert ", back near its usual level (usual at 10:00: 4" in text


def test_the_usual_spread_after_a_leak_comes_from_the_day_before() -> None:
    """Hours of leak in the points before the window are no measure of ordinary noise: the
    spread comes from the same stretch a day earlier when that is calmer."""
    series = _leak()
    explanation = ExplanationClassifier().classify(series, _flag(series, RESTART, RESTART + 6))
    assert explanation.additional_context["spread"] == pytest.approx(NOISE, rel=0.35)


@pytest.mark.parametrize(("amount", "hours"), [(20.0, 3), (10.0, 2)])
def test_a_leak_of_a_few_hours_is_a_drift_that_fell_back(amount: float, hours: int) -> None:
    """The whole climb lies in the points read before the restart: it is one drift, from
    where it began to where it fell back, not a plateau that "came back". (With the spread
    inflated by the leak the window once looked ordinary: the classifier said normal.)"""
    series = _leak(amount, hours)
    explanation = ExplanationClassifier().classify(series, _flag(series, RESTART, RESTART + 6))
    assert explanation.anomaly_kind is AnomalyKind.DRIFT
    context = explanation.additional_context
    assert context["returned"] is True
    began = series.timestamps[RESTART - hours * 60]
    assert context["start"] == pytest.approx(began, abs=_ONSET_SLACK)
    assert context["end"] == series.timestamps[RESTART - 1]
    assert context["rate_per_hour"] == pytest.approx(amount / hours, rel=0.25)
    assert explanation.description.startswith("memory_used on n1 drifted up between ")
    assert explanation.description.endswith(
        "and 2024-01-05 09:59 UTC: "
        f"from {explanation.baseline_value:.1f} % to {explanation.observed_value:.1f} % "
        f"({context['rate_per_hour']:.1f} % per hour), then fell back near its usual level"
    )


def test_a_leak_older_than_the_points_read_ends_in_a_step_back() -> None:
    series = _leak(20.0, 8)
    explanation = ExplanationClassifier().classify(series, _flag(series, RESTART, RESTART + 6))
    assert explanation.anomaly_kind is AnomalyKind.LEVEL_SHIFT
    assert explanation.additional_context["level_before"] == pytest.approx(63.0, abs=1.5)
    assert ", back near its usual level" in explanation.description


def test_a_step_from_the_usual_level_is_told_from_usual() -> None:
    series = _leak(amount=0.0)
    values = series.values_array.copy()
    values[RESTART:] += 15.0
    series = series.with_arrays(series.timestamps_ns, values)
    explanation = ExplanationClassifier().classify(series, _flag(series, RESTART, RESTART + 6))
    assert explanation.anomaly_kind is AnomalyKind.LEVEL_SHIFT
    assert "level_before" not in explanation.additional_context
    told = r"shifted up from 4\d\.\d % to 5\d\.\d % \(\+3\d %\) at "
    assert re.search(told, explanation.description)
    assert "usual level" not in explanation.description


def _shift(before: float | None, observed: float, baseline: float = 44.0) -> AnomalyExplanation:
    context: dict[str, object] = {
        "metric_name": "memory_used",
        "node_id": "n1",
        "unit": "%",
        "usual": "usual at 10:00",
        "spread": 0.8,
        "start": datetime(2024, 1, 5, 10, tzinfo=UTC),
        "duration_seconds": 3600.0,
    }
    if before is not None:
        context["level_before"] = before
    return AnomalyExplanation(
        anomaly_type=AnomalyType.TREND,
        anomaly_kind=AnomalyKind.LEVEL_SHIFT,
        baseline_value=baseline,
        observed_value=observed,
        deviation_percent=round((observed - baseline) / baseline * 100.0, 2),
        additional_context=context,
    )


def test_template_fields_of_a_step_from_an_unusual_level() -> None:
    back = template_fields(_shift(80.0, 45.0))
    assert (back["before"], back["change"], back["direction"]) == ("80.0 %", "-44 %", "down")
    assert back["back"] == ", back near its usual level (usual at 10:00: 44.0 %),"
    still = template_fields(_shift(80.0, 60.0))
    assert still["back"] == ", still above its usual level (usual at 10:00: 44.0 %),"
    assert still["deviation"] == "+36 %"  # against usual, as before
    below = template_fields(_shift(80.0, 20.0))
    assert below["back"].startswith(", still below its usual level")


def test_template_fields_of_a_step_from_usual_are_the_baselines() -> None:
    fields = template_fields(_shift(None, 60.0))
    assert (fields["before"], fields["change"], fields["back"]) == ("44.0 %", "+36 %", "")
    assert fields["direction"] == "up"


def _drift(returned: bool, fell_to: float | None = None) -> AnomalyExplanation:
    context: dict[str, object] = {
        "metric_name": "memory_used",
        "node_id": "n1",
        "unit": "%",
        "start": datetime(2024, 1, 5, 2, tzinfo=UTC),
        "end": datetime(2024, 1, 5, 9, 59, tzinfo=UTC),
        "duration_seconds": 8 * 3600.0,
        "rate_per_hour": 4.7,
        "returned": returned,
    }
    if fell_to is not None:
        context["fell_to"] = fell_to
    return AnomalyExplanation(
        anomaly_type=AnomalyType.TREND,
        anomaly_kind=AnomalyKind.DRIFT,
        baseline_value=40.8,
        observed_value=78.2,
        additional_context=context,
    )


def _text(explanation: AnomalyExplanation) -> str:
    return ExplanationTemplateRegistry().render(explanation)


def test_the_text_of_a_drift_under_way_and_of_one_that_fell_back() -> None:
    going = _text(_drift(returned=False))
    assert going == (
        "memory_used on n1 has been drifting up since 2024-01-05 02:00 UTC: "
        "from 40.8 % to 78.2 % (4.7 % per hour)"
    )
    back = _text(_drift(returned=True))
    assert back == (
        "memory_used on n1 drifted up between 2024-01-05 02:00 UTC and 2024-01-05 09:59 UTC: "
        "from 40.8 % to 78.2 % (4.7 % per hour), then fell back near its usual level"
    )
    assert _text(_drift(returned=True, fell_to=59.1)).endswith("then fell back to 59.1 %")
