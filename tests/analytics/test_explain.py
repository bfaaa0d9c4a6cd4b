"""ExplanationClassifier on simulated metrics with injected, labelled anomalies."""

from __future__ import annotations

import collections
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.analytics.explain import (
    AnomalyExplanation,
    AnomalyKind,
    AnomalyType,
    ExplanationClassifier,
    ExplanationTemplate,
    ExplanationTemplateRegistry,
)
from backend.analytics.types import AnomalyResult, MetricSeries
from backend.errors import ValidationError
from backend.simulator import AnomalyInjector, MetricSimulator, SimulatorConfig

T0 = datetime(2024, 1, 1)  # a Monday
KINDS = ("spike", "dip", "level_shift", "drift", "seasonal", "missing_data")
METRICS = ("cpu_usage", "memory_used", "disk_io", "network_in", "latency", "queue", "throughput")


def _flag(series: MetricSeries, first: int, last: int, score: float = 0.9) -> AnomalyResult:
    """What a detector would report for points ``first..last`` (inclusive)."""
    start, end = series.timestamps[first], series.timestamps[last]
    return AnomalyResult(*series.key, start, end, score, "spike")


def _noise(n: int = 600, seed: int = 0, level: float = 50.0, unit: str = "percent") -> MetricSeries:
    values = level + np.random.default_rng(seed).normal(0.0, 2.0, n)
    stamps = [T0 + timedelta(minutes=i) for i in range(n)]
    return MetricSeries("acme", "prod", "node-042", "cpu_usage", stamps, values, {"unit": unit})


def _simulated(metric: str = "cpu_usage", n: int = 1440, node: str = "node-1") -> MetricSeries:
    return MetricSimulator(SimulatorConfig(seed=11)).generate("acme", "prod", node, metric, n, T0)


def test_classifier_spike_kind_on_injected_spike() -> None:
    series, _ = AnomalyInjector.inject_spike(_simulated(), 700, magnitude=4.0, duration=3)
    explanation = ExplanationClassifier().classify(series, _flag(series, 690, 740))
    assert explanation.anomaly_kind is AnomalyKind.SPIKE
    assert explanation.anomaly_type is AnomalyType.SPIKE
    assert explanation.observed_value == pytest.approx(max(series.values_array[700:703]))
    assert explanation.additional_context["duration_seconds"] == pytest.approx(180.0)


def test_classifier_dip_kind_on_negative_spike() -> None:
    series, meta = AnomalyInjector.inject_spike(_noise(), 400, magnitude=-5.0, duration=2)
    explanation = ExplanationClassifier().classify(series, _flag(series, 380, 420))
    assert meta["kind"] == "dip"
    assert explanation.anomaly_kind is AnomalyKind.DIP
    assert explanation.observed_value is not None and explanation.observed_value < 40.0


def test_classifier_level_shift_with_short_late_window() -> None:
    series, _ = AnomalyInjector.inject_level_shift(_noise(), 400, shift_amount=15.0)
    # The detector noticed the step 4 points late and flagged only 3 points.
    explanation = ExplanationClassifier().classify(series, _flag(series, 404, 406))
    assert explanation.anomaly_kind is AnomalyKind.LEVEL_SHIFT
    assert explanation.anomaly_type is AnomalyType.TREND
    assert explanation.baseline_value == pytest.approx(50.0, abs=1.0)
    assert explanation.observed_value == pytest.approx(65.0, abs=1.0)
    assert explanation.additional_context["start"] == series.timestamps[400]


def _came_back(start: int, points: int, seasonal: bool = False) -> MetricSeries:
    """Three days of one-minute CPU with +15 (7.5 noise sd) for ``points`` from ``start``:
    a deploy or a batch job that held a new level for a while, then ended."""
    series = _noise(3 * 1440, seed=1)
    values = series.values_array.copy()
    if seasonal:
        values += 10.0 * np.sin(2 * np.pi * np.arange(values.size) / 1440)
    values[start : start + points] += 15.0
    return series.with_arrays(series.timestamps_ns, values)


@pytest.mark.parametrize("seasonal", [False, True])
@pytest.mark.parametrize("points", [60, 180])
def test_a_level_shift_that_came_back_says_how_long_it_held(points: int, seasonal: bool) -> None:
    """Read with the points after it, a shift that ended is not "still there": its level is
    the plateau's, its duration the plateau's, and the text says it came back."""
    start = 2 * 1440 + 100
    series = _came_back(start, points, seasonal)
    explanation = ExplanationClassifier().classify(series, _flag(series, start, start))
    assert explanation.anomaly_kind is AnomalyKind.LEVEL_SHIFT
    context = explanation.additional_context
    assert context["start"] == series.timestamps[start]
    assert context["duration_seconds"] == pytest.approx(60.0 * points, abs=120.0)
    assert explanation.observed_value is not None and explanation.baseline_value is not None
    if not seasonal:  # (on a daily cycle the plateau's raw median also moves with the hour)
        assert explanation.observed_value - explanation.baseline_value == pytest.approx(15, abs=2)
    hours = points // 60
    assert explanation.description.endswith(f"and came back after {hours} h")
    assert "has stayed there" not in explanation.description


def test_a_level_shift_still_there_at_the_end_of_the_data_has_stayed_there() -> None:
    series, _ = AnomalyInjector.inject_level_shift(_noise(), 400, shift_amount=15.0)
    explanation = ExplanationClassifier().classify(series, _flag(series, 400, 402))
    assert explanation.anomaly_kind is AnomalyKind.LEVEL_SHIFT
    assert "and has stayed there for 3 h 20 min" in explanation.description


def test_classifier_drift_kind_on_gradual_trend() -> None:
    series, _ = AnomalyInjector.inject_trend(_noise(), 300, slope=0.15)
    explanation = ExplanationClassifier().classify(series, _flag(series, 360, 380))
    assert explanation.anomaly_kind is AnomalyKind.DRIFT
    assert explanation.additional_context["rate_per_hour"] > 0
    assert "drifting up" in explanation.description


def test_classifier_seasonal_kind_on_new_periodic_component() -> None:
    base = _simulated("queue", 1440)
    series, _ = AnomalyInjector.inject_seasonal_change(base, 700, period_points=60, amplitude=3.0)
    explanation = ExplanationClassifier().classify(series, _flag(series, 700, 730))
    assert explanation.anomaly_kind is AnomalyKind.SEASONAL
    assert explanation.additional_context["oscillation"] > 0.3


def test_classifier_missing_data_kind_on_timestamp_gap() -> None:
    series, _ = AnomalyInjector.inject_missing(_noise(), 300, 25)
    explanation = ExplanationClassifier().classify(series, _flag(series, 295, 305))
    assert explanation.anomaly_kind is AnomalyKind.MISSING_DATA
    assert explanation.additional_context["missing_points"] == 25
    assert explanation.additional_context["gap_start"] == T0 + timedelta(minutes=300)
    assert "25 points missing" in explanation.description


def test_classifier_normal_when_flagged_window_is_ordinary_noise() -> None:
    series = _noise(seed=3)
    explanation = ExplanationClassifier().classify(series, _flag(series, 300, 340, score=0.6))
    assert explanation.anomaly_type is AnomalyType.NORMAL
    assert explanation.anomaly_kind is None
    assert not explanation.is_critical


def test_classifier_normal_result_stays_normal() -> None:
    series, _ = AnomalyInjector.inject_spike(_noise(), 300, magnitude=6.0, duration=2)
    result = AnomalyResult("acme", "prod", "node-042", "cpu_usage", series.timestamps[290],
                           series.timestamps[310], 0.1, "normal")  # fmt: skip
    explanation = ExplanationClassifier().classify(series, result)
    assert explanation.anomaly_type is AnomalyType.NORMAL
    assert explanation.confidence == pytest.approx(0.9)
    assert explanation.description.startswith("cpu_usage on node-042 looks normal")


def test_classifier_baseline_ignores_the_anomaly_itself() -> None:
    series, _ = AnomalyInjector.inject_level_shift(_noise(level=30.0), 300, shift_amount=40.0)
    explanation = ExplanationClassifier().classify(series, _flag(series, 300, 599))
    assert explanation.baseline_value == pytest.approx(30.0, abs=1.0)
    assert explanation.deviation_percent == pytest.approx(133.0, abs=8.0)


def test_classifier_seasonal_baseline_uses_same_time_of_day() -> None:
    minutes = np.arange(3 * 1440)
    daily = 40.0 + 30.0 * np.sin(2 * np.pi * minutes / 1440)
    values = daily + np.random.default_rng(4).normal(0, 1.0, minutes.size)
    values[2 * 1440 + 360 : 2 * 1440 + 363] += 25.0  # day 3, 06:00, the daily peak
    stamps = [T0 + timedelta(minutes=int(m)) for m in minutes]
    series = MetricSeries("acme", "prod", "node-042", "cpu_usage", stamps, values,
                          {"unit": "percent"})  # fmt: skip
    explanation = ExplanationClassifier().classify(series, _flag(series, 3235, 3245))
    assert explanation.anomaly_kind is AnomalyKind.SPIKE
    assert explanation.baseline_value == pytest.approx(70.0, abs=2.0)  # not the 40 % mean
    assert explanation.additional_context["usual"] == "usual at 06:00"
    assert re.search(r"\(usual at 06:00: (69|70)\.\d ± \d\.\d %\)", explanation.description)


def test_classifier_description_reads_with_numbers_and_units() -> None:
    series, _ = AnomalyInjector.inject_spike(_noise(), 300, magnitude=12.0, duration=12)
    explanation = ExplanationClassifier().classify(series, _flag(series, 300, 311))
    text = explanation.description
    assert text.startswith("cpu_usage on node-042 rose to ")
    assert re.search(r"rose to \d+\.\d % \(usual before: \d+\.\d ± \d\.\d %\)", text)
    assert text.endswith("for 12 min")
    assert explanation.is_critical


def test_classifier_keeps_timezone_awareness_of_series() -> None:
    stamps = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=i) for i in range(300)]
    values = np.r_[np.full(200, 10.0), np.full(100, 30.0)] + np.linspace(0, 0.1, 300)
    series = MetricSeries("acme", "prod", "n1", "queue", stamps, values)
    explanation = ExplanationClassifier().classify(series, _flag(series, 200, 210))
    assert explanation.additional_context["start"] == stamps[200]
    assert explanation.additional_context["start"].tzinfo is not None


def test_classify_batch_matches_one_by_one() -> None:
    series, _ = AnomalyInjector.inject_spike(_noise(), 200, magnitude=6.0)
    series, _ = AnomalyInjector.inject_level_shift(series, 450, shift_amount=12.0)
    results = [_flag(series, 190, 215), _flag(series, 452, 460)]
    classifier = ExplanationClassifier()
    batch = classifier.classify_batch(series, results)
    assert batch == [classifier.classify(series, r) for r in results]
    assert [e.anomaly_kind for e in batch] == [AnomalyKind.SPIKE, AnomalyKind.LEVEL_SHIFT]


def test_classifier_rejects_non_series_input() -> None:
    series = _noise()
    with pytest.raises(ValidationError, match="metric_series"):
        ExplanationClassifier().classify(series.values_array, _flag(series, 1, 2))  # type: ignore[arg-type]


def _random_case(
    rng: np.random.Generator, sim: MetricSimulator, i: int
) -> tuple[str, MetricSeries, AnomalyResult]:
    """One injected anomaly of a random size in a random realistic metric, and the window a
    detector might report for it: jittered, short or a whole sliding window containing it, and
    for drifts only once the drift has grown to ~4 noise std (up to 150 points late)."""
    kind = KINDS[i % len(KINDS)]
    n = int(rng.choice([720, 1440, 2880]))
    base = sim.generate("acme", "prod", f"node-{i}", METRICS[(i // 6) % len(METRICS)], n, T0)
    noise = 1.4826 * float(np.median(np.abs(np.diff(base.values_array)))) / np.sqrt(2.0)
    at = int(rng.integers(int(0.3 * n), int(0.85 * n)))
    sign = float(rng.choice([-1.0, 1.0]))
    if kind in ("spike", "dip"):
        size = rng.uniform(3, 6) * (1 if kind == "spike" else -1)
        duration = int(rng.integers(1, 8))
        series, meta = AnomalyInjector.inject_spike(base, at, float(size), duration)
        first, last = at, at + duration
    elif kind == "level_shift":
        series, meta = AnomalyInjector.inject_level_shift(
            base, at, sign * rng.uniform(4, 10) * noise
        )
        first, last = at, at + int(rng.integers(3, 40))
    elif kind == "drift":
        slope = sign * rng.uniform(0.03, 0.15) * noise
        series, meta = AnomalyInjector.inject_trend(base, at, slope)
        delay = int(min(n - at - 2, 150, 4 * noise / abs(slope) * rng.uniform(0.6, 1.3)))
        first, last = at + delay, at + delay + int(rng.integers(5, 60))
    elif kind == "seasonal":
        series, meta = AnomalyInjector.inject_seasonal_change(
            base, at, amplitude=rng.uniform(1.5, 3)
        )
        first, last = at, at + int(rng.integers(5, 60))
    else:
        series, meta = AnomalyInjector.inject_missing(base, at, int(rng.integers(3, 60)))
        first = at - int(rng.integers(0, 20)) + int(rng.integers(0, 5))
        last = max(at + 1, at + int(rng.integers(1, 20)) - int(rng.integers(0, 5)))
        return meta["kind"], series, _flag(series, min(first, at), min(last, series.length) - 1)
    if rng.integers(0, 2) == 0 or kind == "drift":
        start, stop = first + int(rng.integers(-3, 10)), last + int(rng.integers(-3, 10))
    else:
        starts = [w for w in range(0, n - 99, 50) if w <= first < w + 100]
        start = int(rng.choice(starts)) if starts else first
        stop = start + 100
    if kind in ("spike", "dip"):  # the flagged window contains the spike
        start, stop = min(start, last - 1), max(stop, first + 1)
    start = int(np.clip(start, 0, n - 1))
    stop = int(np.clip(stop, start + 1, n))
    return meta["kind"], series, _flag(series, start, stop - 1)


def _confusion(cases: int, seed: int) -> tuple[float, collections.Counter[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    sim = MetricSimulator(SimulatorConfig(seed=3))
    classifier = ExplanationClassifier()
    confusion: collections.Counter[tuple[str, str]] = collections.Counter()
    for i in range(cases):
        truth, series, result = _random_case(rng, sim, i)
        kind = classifier.classify(series, result).anomaly_kind
        confusion[(truth, kind.value if kind else "normal")] += 1
    right = sum(count for (truth, got), count in confusion.items() if truth == got)
    return right / cases, confusion


def _table(confusion: collections.Counter[tuple[str, str]]) -> str:
    columns = (*KINDS, "normal")
    rows = ["truth\\got".ljust(13) + "".join(c[:9].rjust(10) for c in columns)]
    for truth in KINDS:
        rows.append(
            truth.ljust(13) + "".join(str(confusion[(truth, c)]).rjust(10) for c in columns)
        )
    return "\n".join(rows)


def test_classifier_kind_accuracy_on_random_injections() -> None:
    # 150 cases estimate the accuracy to about ±2.5 %; the slow test below holds the 90 % bar.
    accuracy, confusion = _confusion(cases=150, seed=8)
    assert accuracy >= 0.85, f"accuracy {accuracy:.3f}\n{_table(confusion)}"


@pytest.mark.slow
def test_classifier_kind_accuracy_on_many_random_injections() -> None:
    accuracy, confusion = _confusion(cases=1200, seed=2)
    print(f"\nkind accuracy {accuracy:.3f} on 1200 injected anomalies\n{_table(confusion)}")
    assert accuracy >= 0.9, f"accuracy {accuracy:.3f}\n{_table(confusion)}"


def test_explanation_is_critical_needs_an_anomaly_and_high_severity() -> None:
    assert AnomalyExplanation(AnomalyType.SPIKE, severity=0.85).is_critical
    assert not AnomalyExplanation(AnomalyType.SPIKE, severity=0.5).is_critical
    assert not AnomalyExplanation(AnomalyType.NORMAL, severity=0.95).is_critical


def test_explanation_defaults_kind_from_type() -> None:
    assert AnomalyExplanation("trend").anomaly_kind is AnomalyKind.DRIFT
    assert AnomalyExplanation(AnomalyType.NORMAL).anomaly_kind is None
    explanation = AnomalyExplanation(AnomalyType.SPIKE, anomaly_kind="dip")
    assert explanation.anomaly_kind is AnomalyKind.DIP
    assert explanation.to_dict()["anomaly_kind"] == "dip"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"anomaly_type": "outlier"}, "anomaly_type"),
        ({"anomaly_type": AnomalyType.SPIKE, "confidence": 1.5}, "confidence"),
        ({"anomaly_type": AnomalyType.SPIKE, "severity": -0.1}, "severity"),
        ({"anomaly_type": AnomalyType.SPIKE, "anomaly_kind": "drift"}, "anomaly_kind"),
        ({"anomaly_type": AnomalyType.SPIKE, "observed_value": float("nan")}, "observed_value"),
    ],
)
def test_explanation_rejects_bad_fields(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AnomalyExplanation(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_template_render_fills_fields_and_marks_missing() -> None:
    explanation = AnomalyExplanation(
        AnomalyType.SPIKE, baseline_value=41.0, observed_value=97.3, severity=0.9,
        additional_context={"metric_name": "cpu_usage", "node_id": "node-042", "unit": "percent",
                            "spread": 6.0},
    )  # fmt: skip
    template = ExplanationTemplate("spike", "{metric} on {node}: {observed} vs {baseline_range} "
                                   "for {duration}")  # fmt: skip
    assert template.render(explanation) == "cpu_usage on node-042: 97.3 % vs 41.0 ± 6.0 % for n/a"


def test_template_rejects_unknown_placeholder() -> None:
    with pytest.raises(ValidationError, match="unknown fields"):
        ExplanationTemplate(AnomalyType.SPIKE, "{metric} {colour}")


def test_template_registry_register_on_instance_is_private() -> None:
    registry = ExplanationTemplateRegistry()
    registry.register_template("dip", "{metric} dropped to {observed}")
    assert registry.get_template(AnomalyKind.DIP).template == "{metric} dropped to {observed}"
    assert ExplanationTemplateRegistry().get_template("dip").template.startswith("{metric} on")


def test_template_registry_class_level_calls_use_shared_registry() -> None:
    original = ExplanationTemplateRegistry.get_template(AnomalyType.NORMAL).template
    try:
        ExplanationTemplateRegistry.register_template(AnomalyType.NORMAL, "{metric} is fine")
        series = _noise()
        result = AnomalyResult("acme", "prod", "node-042", "cpu_usage", series.timestamps[10],
                               series.timestamps[20], 0.0, "normal")  # fmt: skip
        assert ExplanationClassifier().classify(series, result).description == "cpu_usage is fine"
    finally:
        ExplanationTemplateRegistry.register_template(AnomalyType.NORMAL, original)


def test_classifier_uses_its_own_template_registry() -> None:
    registry = ExplanationTemplateRegistry({"level_shift": "{metric} moved by {deviation}"})
    series, _ = AnomalyInjector.inject_level_shift(_noise(), 300, shift_amount=25.0)
    explanation = ExplanationClassifier(registry).classify(series, _flag(series, 300, 320))
    assert explanation.deviation_percent == pytest.approx(50.0, abs=3.0)
    assert explanation.description == f"cpu_usage moved by {explanation.deviation_percent:+.0f} %"
