"""Fleets of simulated series with labelled anomalies.

:class:`FleetSpec` describes tenants → clusters → nodes → metrics; :func:`simulate_fleet`
builds every series and injects anomalies of every requested kind into a share of them,
returning a :class:`SimulatedFleet` (series, ground-truth labels, long-format table).

Series are laid out node slot by node slot: slot ``j`` goes to cluster ``j mod C`` (clusters
of all tenants dealt round-robin, so they stay balanced) and carries every metric in
``metrics``; ``n_series`` cuts the list, so the last node may have fewer metrics.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.types import MetricSeries, SeriesKey, check_id
from backend.errors import ValidationError
from backend.simulator._freq import NS_PER_SECOND, parse_freq
from backend.simulator._seeding import derive_rng, fresh_entropy
from backend.simulator.baseline import MetricSimulator
from backend.simulator.config import SimulatorConfig
from backend.simulator.frames import long_frame
from backend.simulator.labels import AnomalyLabel, labels_frame
from backend.simulator.placement import ANOMALY_KINDS, MIN_POINTS_FOR_ANOMALIES, inject_random
from backend.simulator.profiles import NODE_METRICS, SERVICE_METRICS

__all__ = [
    "DEFAULT_METRICS",
    "DEFAULT_START",
    "FleetSpec",
    "SimulatedFleet",
    "generate_multi_node_scenario",
    "simulate_fleet",
]

DEFAULT_METRICS: tuple[str, ...] = NODE_METRICS + SERVICE_METRICS
DEFAULT_START = datetime(2024, 1, 1)  # a Monday, midnight UTC: reproducible by default
MAX_TOTAL_POINTS = 200_000_000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FleetSpec:
    """What to simulate. ``start_time`` None means now (floored to ``freq``); ``freq`` is a
    string like ``"1min"``/``"60s"``/``"1h"``, seconds, or a timedelta. ``anomaly_ratio`` is
    the share of series given one anomaly; when it is above 0 at least one series per kind in
    ``anomaly_kinds`` is given one (as far as there are series)."""

    tenants: int = 1
    clusters_per_tenant: int = 1
    nodes_per_cluster: int = 10
    metrics: tuple[str, ...] = DEFAULT_METRICS
    num_points: int = 1440
    freq: Any = "1min"
    anomaly_ratio: float = 0.1
    anomaly_kinds: tuple[str, ...] = ANOMALY_KINDS
    seed: int | None = None
    start_time: Any = DEFAULT_START
    n_series: int | None = None
    warmup_fraction: float = 0.3
    noise_level: float = 0.1

    def __post_init__(self) -> None:
        for name in ("tenants", "clusters_per_tenant", "nodes_per_cluster", "num_points"):
            _check_positive_int(name, getattr(self, name))
        object.__setattr__(self, "metrics", _check_names("metrics", self.metrics))
        object.__setattr__(self, "anomaly_kinds", _check_kinds(self.anomaly_kinds))
        parse_freq(self.freq)
        _check_start(self.start_time)
        _check_fraction("anomaly_ratio", self.anomaly_ratio, 1.0)
        _check_fraction("warmup_fraction", self.warmup_fraction, 0.8)
        self._check_sizes()
        SimulatorConfig(seed=self.seed, noise_level=self.noise_level)  # validates both

    def _check_sizes(self) -> None:
        grid = self.tenants * self.clusters_per_tenant * self.nodes_per_cluster * len(self.metrics)
        if self.n_series is not None:
            _check_positive_int("n_series", self.n_series)
            if self.n_series > grid:
                raise ValidationError("n_series", self.n_series, f"more than the {grid} laid out")
        if self.anomaly_ratio > 0 and self.num_points < MIN_POINTS_FOR_ANOMALIES:
            reason = f"must be >= {MIN_POINTS_FOR_ANOMALIES} to place anomalies"
            raise ValidationError("num_points", self.num_points, reason)
        if self.total_series * self.num_points > MAX_TOTAL_POINTS:
            reason = f"fleet would hold more than {MAX_TOTAL_POINTS} points"
            raise ValidationError("num_points", self.num_points, reason)

    @classmethod
    def for_series_count(
        cls, n_series: int, tenants: int = 1, clusters_per_tenant: int = 1, **kwargs: Any
    ) -> FleetSpec:
        """A spec of exactly ``n_series`` series spread evenly over the tenants' clusters."""
        _check_positive_int("n_series", n_series)
        metrics = tuple(kwargs.get("metrics", DEFAULT_METRICS))
        clusters = max(1, int(tenants) * int(clusters_per_tenant))
        nodes = max(1, math.ceil(n_series / (clusters * max(1, len(metrics)))))
        return cls(
            tenants=tenants,
            clusters_per_tenant=clusters_per_tenant,
            nodes_per_cluster=nodes,
            n_series=n_series,
            **kwargs,
        )

    @property
    def interval_ns(self) -> int:
        """Sampling interval in nanoseconds."""
        return parse_freq(self.freq)

    @property
    def total_series(self) -> int:
        """Number of series the fleet holds."""
        if self.n_series is not None:
            return self.n_series
        return self.tenants * self.clusters_per_tenant * self.nodes_per_cluster * len(self.metrics)

    def series_keys(self) -> list[SeriesKey]:
        """Every series key, in layout order (see the module docstring)."""
        tw, cw = len(str(self.tenants)), len(str(self.clusters_per_tenant))
        nw = max(3, len(str(self.nodes_per_cluster)))
        clusters = [
            (f"tenant-{t:0{tw}d}", f"cluster-{c:0{cw}d}")
            for t in range(1, self.tenants + 1)
            for c in range(1, self.clusters_per_tenant + 1)
        ]
        keys = [
            SeriesKey(*clusters[j % len(clusters)], f"node-{j // len(clusters) + 1:0{nw}d}", m)
            for j in range(len(clusters) * self.nodes_per_cluster)
            for m in self.metrics
        ]
        return keys[: self.total_series]


@dataclass(frozen=True)
class SimulatedFleet:
    """The simulated series, their ground-truth labels and the root seed that made them."""

    spec: FleetSpec
    series: tuple[MetricSeries, ...]
    labels: tuple[AnomalyLabel, ...]
    seed: int
    _frame_cache: dict[str, pd.DataFrame] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def n_points(self) -> int:
        """Total number of points over all series."""
        return sum(s.length for s in self.series)

    def to_frame(self) -> pd.DataFrame:
        """Long format, see :func:`backend.simulator.frames.long_frame` (built once, cached)."""
        if "long" not in self._frame_cache:
            self._frame_cache["long"] = long_frame(self.series, self.labels)
        return self._frame_cache["long"]

    def labels_frame(self) -> pd.DataFrame:
        """The labels table, see :func:`backend.simulator.labels.labels_frame`."""
        return labels_frame(self.labels)

    def anomaly_counts(self) -> dict[str, int]:
        """Number of injected anomalies per kind (kinds with none are left out)."""
        counts: dict[str, int] = {}
        for label in self.labels:
            counts[label.kind] = counts.get(label.kind, 0) + 1
        return dict(sorted(counts.items()))


def simulate_fleet(spec: FleetSpec, progress: Progress | None = None) -> SimulatedFleet:
    """Simulate every series of ``spec`` and inject its anomalies.

    ``progress(done, total)`` is called about a hundred times (for a progress bar).
    Reproducible: the same spec with the same seed gives the same fleet.
    """
    entropy = spec.seed if spec.seed is not None else fresh_entropy()
    config = SimulatorConfig(
        sampling_interval_seconds=spec.interval_ns / NS_PER_SECOND,
        noise_level=spec.noise_level,
        seed=entropy,
    )
    series, labels = _simulate_keys(
        spec.series_keys(),
        MetricSimulator(config),
        spec.num_points,
        spec.start_time,
        _kind_plan(spec, entropy),
        spec.warmup_fraction,
        progress,
    )
    return SimulatedFleet(spec, tuple(series), tuple(labels), entropy)


def _kind_plan(spec: FleetSpec, entropy: int) -> dict[int, str]:
    """Which series (by position) get which anomaly kind; every kind when ratio > 0."""
    total = spec.total_series
    if spec.anomaly_ratio <= 0:
        return {}
    count = min(total, max(round(spec.anomaly_ratio * total), len(spec.anomaly_kinds)))
    rng = derive_rng(entropy, "fleet-plan")
    chosen = rng.choice(total, size=count, replace=False)
    kinds = list(rng.permutation(list(spec.anomaly_kinds)))
    return {int(i): str(kinds[n % len(kinds)]) for n, i in enumerate(chosen)}


def _simulate_keys(
    keys: Sequence[SeriesKey],
    simulator: MetricSimulator,
    num_points: int,
    start_time: Any,
    plan: dict[int, str],
    warmup_fraction: float,
    progress: Progress | None,
) -> tuple[list[MetricSeries], list[AnomalyLabel]]:
    series: list[MetricSeries] = []
    labels: list[AnomalyLabel] = []
    step = max(1, len(keys) // 100)
    for position, key in enumerate(keys):  # one iteration per series; points stay in numpy
        generated = simulator.generate(*key, num_points=num_points, start_time=start_time)
        kind = plan.get(position)
        if kind is not None:
            rng = derive_rng(simulator.entropy, "anomaly", *key)
            generated, metadata = inject_random(generated, kind, rng, warmup_fraction)
            labels.append(AnomalyLabel.from_metadata(key, metadata))
        series.append(generated)
        if progress is not None and (position + 1 == len(keys) or (position + 1) % step == 0):
            progress(position + 1, len(keys))
    return series, labels


def generate_multi_node_scenario(
    tenant_id: str,
    cluster_id: str,
    num_nodes: int = 10,
    num_points: int = 1000,
    anomaly_node_ratio: float = 0.2,
    metric_name: str = "cpu_usage",
    anomaly_kinds: Sequence[str] = ("spike",),
    seed: int | None = None,
    start_time: Any = None,
    sampling_interval_seconds: float = 60,
) -> list[MetricSeries]:
    """One ``metric_name`` series per node (``node-001`` ...) of one cluster.

    ``round(anomaly_node_ratio * num_nodes)`` nodes (at least one when the ratio is above 0)
    get one anomaly each, kinds taken in turn from ``anomaly_kinds``, placed after the first
    30 % of the series. The ground truth is in each series' ``metadata["anomalies"]`` (empty
    for normal nodes). ``start_time`` None means now, as in ``MetricSimulator.generate``.
    """
    check_id("tenant_id", tenant_id)
    check_id("cluster_id", cluster_id)
    spec = FleetSpec(
        nodes_per_cluster=num_nodes,
        metrics=(metric_name,),
        num_points=num_points,
        freq=sampling_interval_seconds,
        anomaly_ratio=anomaly_node_ratio,
        anomaly_kinds=tuple(anomaly_kinds),
        seed=seed,
    )
    nodes = [key.node_id for key in spec.series_keys()]
    keys = [SeriesKey(tenant_id, cluster_id, node, metric_name) for node in nodes]
    entropy = seed if seed is not None else fresh_entropy()
    config = SimulatorConfig(sampling_interval_seconds=sampling_interval_seconds, seed=entropy)
    count = min(num_nodes, max(1, round(anomaly_node_ratio * num_nodes)))
    chosen = derive_rng(entropy, "scenario-plan").choice(num_nodes, size=count, replace=False)
    plan = (
        {}
        if anomaly_node_ratio <= 0
        else {int(i): spec.anomaly_kinds[n % len(spec.anomaly_kinds)] for n, i in enumerate(chosen)}
    )
    series, _ = _simulate_keys(
        keys, MetricSimulator(config), num_points, start_time, plan, spec.warmup_fraction, None
    )
    return series


def _check_positive_int(name: str, value: Any) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValidationError(name, value, "must be an integer >= 1")


def _check_fraction(name: str, value: Any, upper: float) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not 0.0 <= float(value) <= upper:
        raise ValidationError(name, value, f"must be a number in [0, {upper:g}]")


def _check_start(start_time: Any) -> None:
    if start_time is None:
        return
    try:
        to_epoch_ns(start_time)
    except (TypeError, ValueError) as exc:
        raise ValidationError("start_time", start_time, f"not a timestamp ({exc})") from None


def _check_names(name: str, values: Any) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise ValidationError(name, values, "must be a non-empty sequence of names")
    names = tuple(check_id(name, v) for v in values)
    if len(set(names)) != len(names):
        raise ValidationError(name, values, "names must be unique")
    return names


def _check_kinds(kinds: Any) -> tuple[str, ...]:
    names = _check_names("anomaly_kinds", kinds)
    unknown = [k for k in names if k not in ANOMALY_KINDS]
    if unknown:
        reason = f"unknown kind {unknown[0]!r}; choose from {', '.join(ANOMALY_KINDS)}"
        raise ValidationError("anomaly_kinds", kinds, reason)
    return names
