"""Which values a metric can physically take, from its unit or, failing that, its name.

A percentage outside 0–100 or a negative byte count is a broken exporter, not an anomaly, so
ingestion rejects it before it can skew a baseline. The unit a source declares in
``series.metadata["unit"]`` wins over any guess from the name (the simulator documents its units
there); a declared unit we do not know means "no bounds" rather than a guess that could reject
good data. Names are matched by explicit rules (below), never by loose substrings.

Rules, first match wins:

1. an explicit override for the metric name (``MetricValidator(bounds={...})``);
2. bounds the source declares in ``metadata["lower"]`` / ``metadata["upper"]`` (the simulator
   does, and clips injected anomalies to them);
3. the unit: ``percent``/``%``/``pct`` → [0, 100]; ``ratio``/``fraction`` → [0, 1]; bytes,
   counts, durations and rates (``bytes``, ``count``, ``ms``, ``s``, ``req/s``, any ``*/s``) → ≥ 0;
4. the name: ``cpu_usage``, ``memory_used``, ``*_percent``, ``*_pct``, ``*utilization*`` →
   [0, 100]; ``error_rate`` / ``*_error_rate`` → [0, 100] (a ratio in [0, 1] fits too);
   a name with a count/bytes/latency/throughput word (``disk_io``, ``network_in``,
   ``request_count``, ``latency_ms``) → ≥ 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["ValueBounds", "bounds_for", "series_bounds"]


@dataclass(frozen=True)
class ValueBounds:
    """Inclusive limits (``None`` = unbounded on that side) and the rule that chose them.

    >>> ValueBounds(0.0, None, "name disk_io").describe()
    '>= 0 (name disk_io)'
    """

    low: float | None
    high: float | None
    rule: str

    def describe(self) -> str:
        """Human form used in rejection reasons."""
        if self.high is None:
            text = f">= {self.low:g}"
        elif self.low is None:
            text = f"<= {self.high:g}"
        else:
            text = f"in [{self.low:g}, {self.high:g}]"
        return f"{text} ({self.rule})"


_PERCENT = (0.0, 100.0)
_RATIO = (0.0, 1.0)
_NON_NEGATIVE = (0.0, None)

# fmt: off
_NON_NEGATIVE_UNITS = (
    "bytes", "byte", "b", "kb", "mb", "gb", "kib", "mib", "gib", "bps", "count", "requests",
    "errors", "packets", "connections", "ops", "iops", "ms", "s", "seconds", "us", "ns",
    "cores", "millicores",
)
_NON_NEGATIVE_WORDS = frozenset((
    "bytes", "count", "latency", "throughput", "requests", "errors", "duration", "io", "iops",
    "packets", "connections", "rps", "qps", "ms", "seconds", "network", "size",
))
# fmt: on
_UNITS: dict[str, tuple[float | None, float | None]] = {
    **dict.fromkeys(("percent", "%", "pct", "percentage"), _PERCENT),
    **dict.fromkeys(("ratio", "fraction"), _RATIO),
    **dict.fromkeys(_NON_NEGATIVE_UNITS, _NON_NEGATIVE),
}

_PERCENT_NAMES = frozenset({"cpu_usage", "cpu_utilization", "memory_used", "memory_usage"})
_PERCENT_NAME = re.compile(r"(_percent|_pct|_percentage)$|utili[sz]ation")
_ERROR_RATE_NAME = re.compile(r"(^|_)error_rate$")


def bounds_for(
    metric_name: str,
    unit: str | None = None,
    overrides: Mapping[str, tuple[float | None, float | None]] | None = None,
) -> ValueBounds | None:
    """The bounds for a metric, or ``None`` when nothing is known about its range.

    >>> bounds_for("cpu_usage").describe()
    'in [0, 100] (name cpu_usage)'
    >>> bounds_for("error_rate", unit="ratio").describe()
    "in [0, 1] (unit 'ratio')"
    >>> bounds_for("disk_io").describe()
    '>= 0 (name disk_io)'
    >>> bounds_for("temperature") is None
    True
    """
    if overrides and metric_name in overrides:
        low, high = overrides[metric_name]
        return ValueBounds(low, high, f"configured for {metric_name}")
    if unit:
        return _bounds_from_unit(unit)
    return _bounds_from_name(metric_name.lower())


def series_bounds(
    metric_name: str,
    metadata: Mapping[str, Any] | None = None,
    overrides: Mapping[str, tuple[float | None, float | None]] | None = None,
) -> ValueBounds | None:
    """The bounds for a series, reading declared ``lower``/``upper`` and ``unit`` from metadata.

    >>> series_bounds("queue_depth", {"lower": 0.0, "upper": None}).describe()
    '>= 0 (declared in metadata)'
    >>> series_bounds("latency", {"unit": "ms"}).describe()
    ">= 0 (unit 'ms')"
    """
    metadata = metadata or {}
    if not (overrides and metric_name in overrides):
        declared = (_limit(metadata.get("lower")), _limit(metadata.get("upper")))
        if declared != (None, None):
            return ValueBounds(*declared, "declared in metadata")
    unit = metadata.get("unit")
    return bounds_for(metric_name, unit if isinstance(unit, str) else None, overrides)


def _limit(value: Any) -> float | None:
    """A usable declared limit: a finite real number (anything else is ignored)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@lru_cache(maxsize=1024)
def _bounds_from_unit(unit: str) -> ValueBounds | None:
    normalised = unit.strip().lower()
    limits = _UNITS.get(normalised)
    if limits is None and normalised.endswith("/s"):
        limits = _NON_NEGATIVE
    return None if limits is None else ValueBounds(*limits, f"unit {unit!r}")


@lru_cache(maxsize=4096)
def _bounds_from_name(name: str) -> ValueBounds | None:
    rule = f"name {name}"
    if name in _PERCENT_NAMES or _PERCENT_NAME.search(name):
        return ValueBounds(*_PERCENT, rule)
    if _ERROR_RATE_NAME.search(name):
        return ValueBounds(*_PERCENT, rule)
    if _NON_NEGATIVE_WORDS.intersection(re.split(r"[_.\-/]", name)):
        return ValueBounds(*_NON_NEGATIVE, rule)
    return None
