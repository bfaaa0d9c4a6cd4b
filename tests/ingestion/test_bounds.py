"""Value bounds: which rule applies to which metric, unit or declaration."""

from __future__ import annotations

import pytest

from backend.ingestion.bounds import bounds_for, series_bounds


@pytest.mark.parametrize(
    ("name", "limits"),
    [
        ("cpu_usage", (0.0, 100.0)),
        ("memory_used", (0.0, 100.0)),
        ("disk_busy_percent", (0.0, 100.0)),
        ("swap_pct", (0.0, 100.0)),
        ("gpu_utilization", (0.0, 100.0)),
        ("error_rate", (0.0, 100.0)),
        ("http_error_rate", (0.0, 100.0)),
        ("latency", (0.0, None)),
        ("throughput", (0.0, None)),
        ("disk_io", (0.0, None)),
        ("network_out", (0.0, None)),
        ("rx_bytes", (0.0, None)),
        ("request_count", (0.0, None)),
    ],
)
def test_bounds_for_known_names(name: str, limits: tuple[float, float | None]) -> None:
    bounds = bounds_for(name)

    assert bounds is not None
    assert (bounds.low, bounds.high) == limits


@pytest.mark.parametrize("name", ["temperature", "queue_delta", "cpu_temperature", "errorless"])
def test_bounds_for_unknown_names_unbounded(name: str) -> None:
    assert bounds_for(name) is None


@pytest.mark.parametrize(
    ("unit", "limits"),
    [("percent", (0.0, 100.0)), ("%", (0.0, 100.0)), ("ratio", (0.0, 1.0)),
     ("bytes/s", (0.0, None)), ("ops/s", (0.0, None)), ("ms", (0.0, None))],
)  # fmt: skip
def test_bounds_for_unit_wins_over_name(unit: str, limits: tuple[float, float | None]) -> None:
    bounds = bounds_for("cpu_usage", unit=unit)

    assert bounds is not None
    assert (bounds.low, bounds.high) == limits
    assert unit in bounds.rule


def test_bounds_for_unknown_unit_means_no_bounds() -> None:
    assert bounds_for("cpu_usage", unit="millikelvin") is None


def test_bounds_for_override_wins() -> None:
    bounds = bounds_for("cpu_usage", unit="percent", overrides={"cpu_usage": (None, 400.0)})

    assert bounds is not None
    assert (bounds.low, bounds.high) == (None, 400.0)
    assert bounds.describe() == "<= 400 (configured for cpu_usage)"


def test_series_bounds_declared_metadata_wins_over_unit() -> None:
    bounds = series_bounds("latency", {"unit": "ms", "lower": 1.0, "upper": 5000})

    assert bounds is not None
    assert (bounds.low, bounds.high) == (1.0, 5000.0)


def test_series_bounds_ignores_unusable_declarations() -> None:
    bounds = series_bounds("latency", {"unit": "ms", "lower": "zero", "upper": float("nan")})

    assert bounds is not None
    assert bounds.rule == "unit 'ms'"
