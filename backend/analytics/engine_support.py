"""Small, pure helpers engines share: counters to rates, gaps, score calibration, and the
checking of numeric config values.

Prometheus-style counters only ever grow, so engines score their rate of change. A hole in the
timestamps is itself an anomaly (a stopped agent, a lost scrape target), whatever the values
around it do. And raw anomaly scores of any kind become comparable once calibrated to z-like
values (|N(0, 1)| on ordinary data), which :func:`~backend.analytics.config.z_to_score` maps to
[0, 1].

>>> t = np.arange(5, dtype=np.int64) * 60 * NS_PER_SECOND
>>> as_rates(t, np.array([0.0, 60.0, 120.0, 5.0, 65.0])).tolist()  # a reset at index 3
[1.0, 1.0, 1.0, 0.08333333333333333, 1.0]
>>> missing_before(np.r_[t, t[-1] + 10 * 60 * NS_PER_SECOND]).tolist()
[0, 0, 0, 0, 0, 9]
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from backend.analytics._timeconv import NS_PER_SECOND
from backend.analytics.types import MetricSeries
from backend.errors import ConfigError

__all__ = [
    "COUNTER_SUFFIXES",
    "Z_CAP",
    "as_rates",
    "calibrate",
    "config_fraction",
    "config_int",
    "is_counter",
    "missing_before",
    "rate_series",
    "reject_unknown_settings",
]

COUNTER_SUFFIXES = ("_total", "_count", "_sum")
Z_CAP = 37.0  # z of the smallest positive double tail probability; keeps scores finite


def is_counter(series: MetricSeries) -> bool:
    """Whether the series says it is a cumulative counter (metadata or Prometheus naming)."""
    metadata = series.metadata
    declared = str(metadata.get("metric_type", metadata.get("type", ""))).lower()
    return declared == "counter" or series.metric_name.endswith(COUNTER_SUFFIXES)


def as_rates(t_ns: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per-second rate of a counter; after a reset (a drop) the new value is the increase.

    The first point takes the second one's rate, so the output is as long as the input.
    """
    if values.size < 2:
        return np.zeros_like(values, dtype=np.float64)
    increase = np.diff(values)
    increase = np.where(increase < 0, values[1:], increase)
    seconds = np.maximum(np.diff(t_ns).astype(np.float64) / NS_PER_SECOND, 1e-9)
    rates = increase / seconds
    return np.concatenate([rates[:1], rates])


def rate_series(series: MetricSeries, rates: np.ndarray | None = None) -> MetricSeries:
    """A counter told as its rate per second (``rates``, else :func:`as_rates`), named
    ``rate(<metric>)`` as PromQL writes it and in ``<unit>/s``, so an explanation reads
    "rate(http_requests_total) on node-1 rose to 200.0 per second" rather than describing
    the ever-growing total.

    >>> t = np.arange(4, dtype=np.int64) * 60 * NS_PER_SECOND
    >>> told = rate_series(MetricSeries.from_arrays(("t", "c", "n", "bytes_total"), t,
    ...                                             np.array([0.0, 60.0, 120.0, 300.0])))
    >>> told.metric_name, told.values_array.tolist(), told.metadata["unit"]
    ('rate(bytes_total)', [1.0, 1.0, 1.0, 3.0], 'per second')
    """
    ts = series.timestamps_ns
    per_second = as_rates(ts, series.values_array) if rates is None else rates
    unit = series.metadata.get("unit")
    metadata = {**series.metadata, "unit": f"{unit}/s" if unit else "per second"}
    key = series.key._replace(metric_name=f"rate({series.metric_name})")
    return MetricSeries.from_arrays(key, ts, per_second, metadata, series.aware)


def missing_before(t_ns: np.ndarray) -> np.ndarray:
    """For each point, how many sampling steps are missing just before it (median step)."""
    if t_ns.size < 3:
        return np.zeros(t_ns.size, dtype=np.int64)
    steps = np.diff(t_ns)
    step = max(float(np.median(steps)), 1.0)
    missing = np.maximum(np.rint(steps / step).astype(np.int64) - 1, 0)
    return np.concatenate([[0], missing])


def calibrate(raw: np.ndarray, train: int) -> np.ndarray:
    """Map raw scores to z-like values whose training distribution is |N(0, 1)|.

    The sorted training scores are matched to half-normal quantiles and new scores are
    interpolated between them; above the largest training score the map continues linearly
    with the slope of its top decile. Distribution-free, so heavy-tailed metrics (network
    bursts) do not flood the alarms a Gaussian assumption would raise. The price: a training
    point can score no higher than the largest quantile, so anomalies inside the training
    prefix stay below the alarm level.

    >>> z = calibrate(np.r_[np.linspace(0.0, 2.0, 101), 4.0], 101)
    >>> [round(float(v), 2) for v in z[[0, 50, 100, 101]]]
    [0.0, 0.67, 2.58, 12.33]
    """
    from statistics import NormalDist

    head = np.sort(np.asarray(raw[:train], dtype=np.float64))
    ranks = np.arange(1, head.size + 1) / (head.size + 1)
    inverse = NormalDist().inv_cdf
    quantiles = np.asarray([inverse(0.5 + r / 2.0) for r in ranks], dtype=np.float64)
    if head[0] <= 0:
        quantiles[0] = 0.0
    head, first = np.unique(head, return_index=True)
    quantiles = quantiles[first]
    z = np.interp(raw, head, quantiles)
    top = max(1, head.size // 10)
    rise = head[-1] - head[-1 - top] if head.size > top else 0.0
    slope = (quantiles[-1] - quantiles[-1 - top]) / rise if rise > 0 else 1.0
    beyond = raw > head[-1]
    z[beyond] = quantiles[-1] + (raw[beyond] - head[-1]) * slope
    return np.clip(np.nan_to_num(z, nan=0.0, posinf=Z_CAP), 0.0, Z_CAP)


def config_int(cfg: dict[str, Any], name: str, default: int, minimum: int) -> int:
    """``cfg[name]`` (or ``default``) as an integer of at least ``minimum``, else ConfigError."""
    value = cfg.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(name, value, f"must be an integer >= {minimum}")
    return int(value)


def config_fraction(cfg: dict[str, Any], name: str, default: float, upper: float) -> float:
    """``cfg[name]`` (or ``default``) as a number in (0, ``upper``], else ConfigError."""
    value = cfg.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= upper:
        raise ConfigError(name, value, f"must be a number in (0, {upper}]")
    return float(value)


def reject_unknown_settings(
    cfg: Mapping[str, Any], known: Collection[str], owner: str, prefix: str = ""
) -> None:
    """ConfigError for a key ``owner`` (e.g. "the default engine") does not have, naming the
    closest one it has: a misspelt setting would otherwise be ignored and the default run.
    ``prefix`` goes before the key in the error's field (``per_metric.cpu_usage.``)."""
    for key in cfg:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{prefix}{key}", cfg[key], f"is not a setting of {owner}{hint}")
