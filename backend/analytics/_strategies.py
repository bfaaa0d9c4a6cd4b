"""The arithmetic of aggregation: combine component scores into one, and say who drove it.

Every strategy returns the aggregate in [0, 1] and one *share* per component: the fraction of
the aggregate that component accounts for. Shares are non-negative and sum to 1 whenever the
aggregate is positive (all zero otherwise), so "why is this node first?" always has an answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np

from backend.analytics.types import ScoreContribution
from backend.errors import ValidationError

__all__ = [
    "DEFAULT_METRIC_WEIGHTS",
    "P95_PERCENTILE",
    "AggregationStrategy",
    "combine",
    "contributions",
]

P95_PERCENTILE = 95.0

#: Weights the WEIGHTED strategy uses when none are given: saturation of compute and
#: user-facing symptoms matter more than background I/O. Metrics not listed weigh 1.0.
DEFAULT_METRIC_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "cpu_usage": 1.0,
        "cpu": 1.0,
        "memory_usage": 0.9,
        "memory": 0.9,
        "latency": 1.0,
        "error_rate": 1.0,
        "throughput": 0.7,
        "network_io": 0.6,
        "network": 0.6,
        "disk_io": 0.5,
        "disk": 0.5,
    }
)


class AggregationStrategy(StrEnum):
    """How component scores roll up into one score."""

    MAX = "max"
    MEAN = "mean"
    WEIGHTED = "weighted"
    P95 = "p95"


def parse_strategy(value: Any, field: str = "strategy") -> AggregationStrategy:
    """Accept the enum or its string value; anything else names the allowed values."""
    try:
        return AggregationStrategy(getattr(value, "value", value))
    except ValueError:
        allowed = ", ".join(s.value for s in AggregationStrategy)
        raise ValidationError(field, value, f"must be one of {allowed}") from None


def check_weights(weights: Mapping[str, float] | None, field: str) -> dict[str, float]:
    """Copy of ``weights`` with every value a finite number >= 0."""
    checked: dict[str, float] = {}
    for name, weight in (weights or {}).items():
        try:
            number = float(weight)
        except (TypeError, ValueError):
            raise ValidationError(f"{field}[{name!r}]", weight, "must be a number") from None
        if not (np.isfinite(number) and number >= 0):
            raise ValidationError(f"{field}[{name!r}]", weight, "must be a finite number >= 0")
        checked[str(name)] = number
    return checked


def combine(
    strategy: AggregationStrategy, scores: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Aggregate ``scores`` (each in [0, 1]) and the share each one has in the result.

    ``weights`` only matter for WEIGHTED (a weighted mean; all-zero weights give 0).
    P95 is numpy's default (linear-interpolation) 95th percentile: it lies between the two
    order statistics around rank ``0.95·(n-1)``, and those two components share the
    result in proportion to what each adds to the interpolation (tied scores split evenly).

    >>> agg, shares = combine(AggregationStrategy.MEAN, np.array([0.9, 0.1]))
    >>> round(agg, 2), shares.round(2).tolist()
    (0.5, [0.9, 0.1])
    >>> agg, shares = combine(AggregationStrategy.P95, np.array([0.9, 0.1]))
    >>> round(agg, 2), shares.round(3).tolist()
    (0.86, [0.994, 0.006])
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        raise ValidationError("scores", [], "nothing to aggregate")
    if strategy is AggregationStrategy.MAX:
        parts = np.where(scores == scores.max(), scores, 0.0)
    elif strategy is AggregationStrategy.MEAN:
        parts = scores / scores.size
    elif strategy is AggregationStrategy.WEIGHTED:
        parts = _weighted_parts(scores, weights)
    else:
        parts = _percentile_parts(scores, P95_PERCENTILE)
    aggregate = float(parts.sum()) if strategy is not AggregationStrategy.MAX else scores.max()
    return float(np.clip(aggregate, 0.0, 1.0)), _normalise(parts)


def _weighted_parts(scores: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    w = np.ones_like(scores) if weights is None else np.asarray(weights, dtype=np.float64)
    total = w.sum()
    if total <= 0:
        return np.zeros_like(scores)
    # shares first: w * score would lose the precision of tiny (subnormal) weights
    return (w / total) * scores


def _percentile_parts(scores: np.ndarray, q: float) -> np.ndarray:
    """Each component's part of the linear-interpolation percentile ``q``."""
    ordered = np.sort(scores)
    rank = q / 100.0 * (scores.size - 1)
    low, high = int(np.floor(rank)), int(np.ceil(rank))
    frac = rank - low
    parts = np.zeros_like(scores)
    for position, weight in ((low, 1.0 - frac), (high, frac)):
        if weight == 0.0:
            continue
        tied = scores == ordered[position]
        parts[tied] += weight * ordered[position] / tied.sum()
    return parts


def _normalise(parts: np.ndarray) -> np.ndarray:
    total = parts.sum()
    if total <= 0:
        return np.zeros_like(parts)
    return np.clip(parts / total, 0.0, 1.0)


def contributions(
    names: Sequence[str], scores: np.ndarray, weights: np.ndarray, shares: np.ndarray
) -> tuple[ScoreContribution, ...]:
    """Provenance records, largest share first (then highest score, then name)."""
    order = sorted(range(len(names)), key=lambda i: (-shares[i], -scores[i], names[i]))
    return tuple(
        ScoreContribution(names[i], float(scores[i]), float(weights[i]), float(shares[i]))
        for i in order
    )
