"""Several simulated fleets at once, pooled.

One fleet of 1,000 series holds about 200 labels, so its recall moves by a few points from
one seed to the next (binomial noise alone is ±1.5 points at 0.9), and a fleet that tuning
has looked at flatters the engine. Whether a target holds is therefore judged on several
fleets, their labels and normal points pooled, with how many of the fleets meet it on their
own and an interval for the pooled recall.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import TypeVar

from backend.errors import ValidationError
from backend.evaluation.fleet import FleetEvaluation, KindStats, MetricStats

__all__ = [
    "FLEET_TARGETS",
    "FleetTargets",
    "PooledFleets",
    "parse_seeds",
    "pool_fleets",
    "wilson_interval",
]

_Stats = TypeVar("_Stats", KindStats, MetricStats)
_MAX_SEEDS = 1000
_RANGE = re.compile(r"^(-?\d+)\s*-\s*(-?\d+)$")


@dataclass(frozen=True)
class FleetTargets:
    """What a detector must reach on a labelled fleet (the project's detection targets)."""

    recall: float = 0.95
    false_alarms_per_10k: float = 1.0
    kind_accuracy: float = 0.90

    def met(self, result: FleetEvaluation) -> dict[str, bool]:
        """Each target, and whether ``result`` reaches it."""
        return {
            "recall": result.recall >= self.recall,
            "false_alarms_per_10k": result.false_alarms_per_10k <= self.false_alarms_per_10k,
            "kind_accuracy": result.kind_accuracy >= self.kind_accuracy,
        }


FLEET_TARGETS = FleetTargets()


def parse_seeds(text: str) -> tuple[int, ...]:
    """Seeds from ``1-10``, ``1,4,9`` or a mix (``1-3,7``), in order, without repeats.

    >>> parse_seeds("1-3, 7, 2")
    (1, 2, 3, 7)
    """
    seeds: dict[int, None] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        span = _RANGE.match(part)
        try:
            low, high = (int(span[1]), int(span[2])) if span else (int(part), int(part))
        except ValueError:
            raise ValidationError(
                "--seeds", text, f"{part!r} is neither a seed nor a range such as 1-10"
            ) from None
        if low > high:
            raise ValidationError("--seeds", text, f"range {part!r} runs backwards")
        if len(seeds) + high - low >= _MAX_SEEDS:
            raise ValidationError("--seeds", text, f"at most {_MAX_SEEDS} seeds")
        seeds.update(dict.fromkeys(range(low, high + 1)))
    if not seeds:
        raise ValidationError("--seeds", text, "give at least one seed, e.g. 1-10 or 1,4,9")
    return tuple(seeds)


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95 % by default) for a share of ``successes`` in ``trials``.

    Sound near 0 and 1, where the normal approximation runs out of [0, 1].

    >>> low, high = wilson_interval(179, 200)
    >>> round(low, 3), round(high, 3)
    (0.845, 0.93)
    """
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= trials:
        raise ValidationError("successes", successes, f"must lie in [0, {trials}]")
    share = successes / trials
    z2 = z * z
    centre = (share + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials**2))
    return max(centre - half, 0.0), min(centre + half, 1.0)


@dataclass(frozen=True)
class PooledFleets:
    """Several fleets' evaluations (one per seed) and their pooled figures."""

    seeds: tuple[int, ...]
    fleets: tuple[FleetEvaluation, ...]
    pooled: FleetEvaluation
    targets: FleetTargets = field(default=FLEET_TARGETS)

    @property
    def recall_interval(self) -> tuple[float, float]:
        """95 % interval of the pooled recall (labels as independent trials)."""
        return wilson_interval(self.pooled.detected, self.pooled.events)

    def fleets_meeting(self, target: str) -> int:
        """How many of the fleets reach ``target`` (a :class:`FleetTargets` field) alone."""
        return sum(self.targets.met(fleet)[target] for fleet in self.fleets)


def _summed(parts: Sequence[_Stats], make: Callable[[], _Stats]) -> _Stats:
    """One tally's fields summed over ``parts`` (counts added, per-name counts merged)."""
    total = make()
    for part in parts:
        for column in fields(part):
            value = getattr(part, column.name)
            if isinstance(value, dict):
                into = getattr(total, column.name)
                for name, count in value.items():
                    into[name] = into.get(name, 0) + count
            else:
                setattr(total, column.name, getattr(total, column.name) + value)
    return total


def _merged(tables: Iterable[dict[str, _Stats]], make: Callable[[], _Stats]) -> dict[str, _Stats]:
    """Tallies by name (per kind, per metric) of several fleets, summed name by name."""
    grouped: dict[str, list[_Stats]] = {}
    for table in tables:
        for name, stats in table.items():
            grouped.setdefault(name, []).append(stats)
    return {name: _summed(parts, make) for name, parts in sorted(grouped.items())}


def pool_fleets(
    seeds: Sequence[int],
    fleets: Sequence[FleetEvaluation],
    targets: FleetTargets = FLEET_TARGETS,
) -> PooledFleets:
    """Pool the evaluations of one engine on several fleets (one per seed).

    Counts are summed, so the pooled recall is all labels found over all labels and the
    false-alarm rate all false alarms over all normal points (not a mean of the fleets'
    shares, which would weigh a fleet with few labels like one with many).
    """
    if len(seeds) != len(fleets) or not fleets:
        raise ValidationError("fleets", len(fleets), f"need one evaluation per seed ({len(seeds)})")
    engines = {fleet.engine for fleet in fleets}
    if len(engines) != 1:
        raise ValidationError("fleets", sorted(engines), "must all come from one engine")
    thresholds = {fleet.threshold for fleet in fleets}
    kinds = _merged((fleet.per_kind for fleet in fleets), KindStats)
    detected = sum(fleet.detected for fleet in fleets)
    pooled = FleetEvaluation(
        fleets[0].engine,
        sum(fleet.series for fleet in fleets),
        sum(fleet.points for fleet in fleets),
        sum(fleet.events for fleet in fleets),
        detected,
        sum(fleet.kind_right for fleet in fleets),
        sum(fleet.alarms for fleet in fleets),
        sum(fleet.false_alarms for fleet in fleets),
        sum(fleet.normal_points for fleet in fleets),
        sum(k.delay_seconds for k in kinds.values()) / max(detected, 1),
        kinds,
        sum(fleet.seconds for fleet in fleets),
        _merged((fleet.per_metric for fleet in fleets), MetricStats),
        thresholds.pop() if len(thresholds) == 1 else None,
    )
    return PooledFleets(tuple(seeds), tuple(fleets), pooled, targets)
