"""Detection thresholds: global defaults, per-metric overrides and safe per-family defaults.

A :class:`DetectionConfig` decides what counts as an anomaly once an engine has scored a
window: ``anomaly_score_threshold`` globally, ``metric_thresholds`` for named metrics or
glob patterns (``"cpu*"``), and built-in adjustments for CPU, memory, disk and network
metrics (see ``docs/thresholds.md`` for the reasoning). It is a plain frozen dataclass; the
TOML/JSON file and environment loaders live in :mod:`backend.analytics.config_loading`
(:func:`load_config` here is a shortcut). Nothing is read at import time.

>>> config = DetectionConfig(metric_thresholds={"cpu_usage": 0.7})
>>> config.get_threshold_for_metric("cpu_usage"), config.get_threshold_for_metric("latency_ms")
(0.7, 0.5)
>>> config.get_threshold_for_metric("network_rx_bytes")  # bursty family: +0.10
0.6
>>> config.is_critical(0.85), config.is_critical(0.5)
(True, False)
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from backend.analytics.engine_support import reject_unknown_settings
from backend.analytics.limits import MetricLimit, parse_limits
from backend.errors import ConfigError

__all__ = [
    "DEFAULT_METRIC_ADJUSTMENTS",
    "TENANT_FIELDS",
    "DetectionConfig",
    "alarm_z_for_window",
    "get_config",
    "load_config",
    "match_metric",
    "reset_config",
    "set_config",
    "z_to_score",
]

#: The fields a tenant may override (``DetectionConfig.tenants``); the engine and its
#: settings are shared by all tenants.
TENANT_FIELDS: tuple[str, ...] = (
    "anomaly_score_threshold",
    "critical_threshold",
    "metric_thresholds",
    "metric_limits",
    "use_metric_defaults",
)

#: Threshold adjustments by metric family (glob, case-insensitive), added to the global
#: ``anomaly_score_threshold``. First match wins, so specific patterns come first.
DEFAULT_METRIC_ADJUSTMENTS: tuple[tuple[str, float], ...] = (
    ("cpu*", 0.05),
    ("mem*", 0.0),
    ("disk*io*", 0.10),
    ("disk_read*", 0.10),
    ("disk_write*", 0.10),
    ("disk*", 0.0),
    ("net*", 0.10),
)


@dataclass(frozen=True)
class DetectionConfig:
    """When a scored window is an anomaly, and when it is critical.

    Parameters
    ----------
    anomaly_score_threshold
        Global score at or above which a window is anomalous, in [0, 1].
    critical_threshold
        Score at or above which an anomaly is critical; not below ``anomaly_score_threshold``.
    window_size_points, stride_points
        Sliding-window geometry handed to engines (points per window, points between starts).
    contamination
        Expected fraction of anomalous windows in (0, 0.5]; engines set their alarm level so
        that about this fraction of normal windows would be flagged.
    algorithm
        Detector family engines may use (kept for compatibility; e.g. ``isolation_forest``).
    metric_thresholds
        Overrides by metric name or glob pattern (``{"cpu_usage": 0.7, "disk*": 0.6}``); an
        exact name beats a pattern, a longer pattern beats a shorter one.
    engine
        Registry name of the engine the pipeline should run (``default``, ``merlion``, ...).
    engine_config
        Hyperparameters passed to that engine.
    use_metric_defaults
        Apply :data:`DEFAULT_METRIC_ADJUSTMENTS` to metrics without an override.
    metric_limits
        Static limits by metric name or glob pattern, matched like ``metric_thresholds``
        (``{"error_rate": {"above": 5.0}}``): a value beyond its limit alarms on every engine,
        whatever the series' history (:mod:`backend.analytics.limits`).
    tenants
        Overrides for one tenant's series, by tenant id (``{"acme": {"metric_limits":
        {"error_rate": {"above": 2.0}}}}``): the fields in :data:`TENANT_FIELDS`. Thresholds
        replace the global ones; ``metric_thresholds`` and ``metric_limits`` entries are
        added to the global ones (a tenant's entry for the same key wins). See
        :meth:`for_tenant`.
    """

    anomaly_score_threshold: float = 0.5
    critical_threshold: float = 0.8
    window_size_points: int = 100
    stride_points: int = 50
    contamination: float = 0.05
    algorithm: str = "isolation_forest"
    metric_thresholds: dict[str, float] = field(default_factory=dict)
    engine: str = "default"
    engine_config: dict[str, Any] = field(default_factory=dict)
    use_metric_defaults: bool = True
    metric_limits: dict[str, MetricLimit] = field(default_factory=dict)
    tenants: dict[str, dict[str, Any]] = field(default_factory=dict)
    _by_tenant: dict[str, DetectionConfig] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name in ("anomaly_score_threshold", "critical_threshold"):
            object.__setattr__(self, name, _unit_float(name, getattr(self, name)))
        if self.critical_threshold < self.anomaly_score_threshold:
            raise ConfigError(
                "critical_threshold", self.critical_threshold,
                f"must not be below anomaly_score_threshold ({self.anomaly_score_threshold})",
            )  # fmt: skip
        for name in ("window_size_points", "stride_points"):
            object.__setattr__(self, name, _positive_int(name, getattr(self, name)))
        contamination = _unit_float("contamination", self.contamination)
        if not 0.0 < contamination <= 0.5:
            raise ConfigError("contamination", self.contamination, "must be in (0, 0.5]")
        object.__setattr__(self, "contamination", contamination)
        for name in ("algorithm", "engine"):
            _non_empty_str(name, getattr(self, name))
        object.__setattr__(self, "metric_thresholds", _thresholds(self.metric_thresholds))
        if not isinstance(self.engine_config, Mapping):
            raise ConfigError("engine_config", self.engine_config, "must be a mapping")
        object.__setattr__(self, "engine_config", dict(self.engine_config))
        if not isinstance(self.use_metric_defaults, bool):
            raise ConfigError("use_metric_defaults", self.use_metric_defaults, "must be a bool")
        object.__setattr__(self, "metric_limits", parse_limits(self.metric_limits))
        object.__setattr__(self, "tenants", _tenant_overrides(self.tenants))
        # built now, so a bad override is refused when the configuration is loaded
        object.__setattr__(
            self, "_by_tenant", {t: self._overridden(t, o) for t, o in self.tenants.items()}
        )

    def for_tenant(self, tenant_id: str) -> DetectionConfig:
        """The configuration for ``tenant_id``'s series: this one with its overrides.

        >>> config = DetectionConfig(
        ...     metric_thresholds={"cpu*": 0.7},
        ...     tenants={"acme": {"anomaly_score_threshold": 0.6,
        ...                       "metric_thresholds": {"disk*": 0.65}}})
        >>> acme = config.for_tenant("acme")
        >>> acme.anomaly_score_threshold, sorted(acme.metric_thresholds)
        (0.6, ['cpu*', 'disk*'])
        >>> config.for_tenant("other") is config
        True
        """
        return self._by_tenant.get(tenant_id, self)

    def _overridden(self, tenant_id: str, overrides: Mapping[str, Any]) -> DetectionConfig:
        changes: dict[str, Any] = {"tenants": {}}
        for name, value in overrides.items():
            if name in ("metric_thresholds", "metric_limits"):
                if not isinstance(value, Mapping):
                    raise ConfigError(f"tenants[{tenant_id!r}].{name}", value, "must be a mapping")
                value = {**getattr(self, name), **value}
            changes[name] = value
        try:
            return dataclasses.replace(self, **changes)
        except ConfigError as exc:
            raise ConfigError(
                f"tenants[{tenant_id!r}].{exc.field}", exc.value, exc.reason
            ) from None

    def get_threshold_for_metric(self, metric_name: str, *, calibrated: bool = False) -> float:
        """The score threshold for ``metric_name``.

        Order: exact override, longest matching override pattern, the global threshold plus
        the built-in family adjustment (clipped to ``[0, critical_threshold]``), the global.
        ``calibrated``: the scores come from an engine calibrated per series
        (``AnomalyDetectionEngine.calibrated_per_series``), which has already learnt each
        series' routine bursts, so no family adjustment is added; explicit overrides still
        apply.

        >>> DetectionConfig().get_threshold_for_metric("network_in", calibrated=True)
        0.5
        """
        chosen = match_metric(self.metric_thresholds, metric_name)
        if chosen is not None:
            return self.metric_thresholds[chosen]
        name = metric_name.lower()
        if self.use_metric_defaults and not calibrated:
            for pattern, delta in DEFAULT_METRIC_ADJUSTMENTS:
                if fnmatch.fnmatchcase(name, pattern):
                    raised = self.anomaly_score_threshold + delta
                    return round(min(max(raised, 0.0), self.critical_threshold), 6)
        return self.anomaly_score_threshold

    def get_limit_for_metric(self, metric_name: str) -> MetricLimit | None:
        """The static limit for ``metric_name`` (exact name, else longest pattern), or None.

        >>> config = DetectionConfig(metric_limits={"error_rate*": {"above": 5.0}})
        >>> config.get_limit_for_metric("error_rate_5xx").above, config.get_limit_for_metric("cpu")
        (5.0, None)
        """
        chosen = match_metric(self.metric_limits, metric_name)
        return None if chosen is None else self.metric_limits[chosen]

    def breach_rule(
        self, metric_name: str, *, calibrated: bool
    ) -> tuple[MetricLimit, float] | None:
        """The metric's static limit and the score its breaches get, or None without one.

        The score is the critical threshold, or for a ``warning`` limit the metric's own
        threshold (so it alarms without ranking as critical); ``calibrated`` as in
        :meth:`get_threshold_for_metric`.
        """
        limit = self.get_limit_for_metric(metric_name)
        if limit is None:
            return None
        if limit.severity == "warning":
            return limit, self.get_threshold_for_metric(metric_name, calibrated=calibrated)
        return limit, self.critical_threshold

    def is_critical(self, score: float) -> bool:
        """True when ``score`` reaches ``critical_threshold``."""
        return float(score) >= self.critical_threshold

    def replace(self, **changes: Any) -> DetectionConfig:
        """A validated copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


def match_metric(patterns: Iterable[str], metric_name: str) -> str | None:
    """The entry of ``patterns`` that applies to ``metric_name``: the exact name, else the
    longest matching glob pattern (case-insensitive), else None.

    >>> match_metric(["cpu*", "cpu_usage_*", "memory_used"], "cpu_usage_total")
    'cpu_usage_*'
    """
    names = list(patterns)
    if metric_name in names:
        return metric_name
    name = metric_name.lower()
    matching = [p for p in names if fnmatch.fnmatchcase(name, p.lower())]
    return max(matching, key=len) if matching else None


def alarm_z_for_window(contamination: float, window_points: int) -> float:
    """The calibrated z a window's peak must reach so ~``contamination`` of normal windows alarm.

    Engines calibrate per-point scores to z-like values (|N(0, 1)| on normal data). The peak of
    ``w`` such points exceeds ``z`` with probability ``1 - (1 - p)^w`` where ``p = P(|Z| > z)``;
    solving for ``contamination`` gives the alarm level. Never below 3 (Merlion's default).

    >>> round(alarm_z_for_window(0.05, 100), 2)
    3.47
    >>> alarm_z_for_window(0.5, 1)
    3.0
    """
    per_point = 1.0 - (1.0 - contamination) ** (1.0 / max(int(window_points), 1))
    z = NormalDist().inv_cdf(1.0 - per_point / 2.0)
    return max(3.0, z)


def z_to_score(z: Any, alarm_z: float) -> Any:
    """Map calibrated z-like scores (>= 0) to [0, 1] so that ``z == alarm_z`` gives 0.5.

    ``score = z² / (z² + alarm_z²)``: monotone, 0 at z = 0, 0.8 at twice the alarm level,
    1 only in the limit. Works on floats and numpy arrays.

    >>> z_to_score(3.0, 3.0), z_to_score(6.0, 3.0), z_to_score(0.0, 3.0)
    (0.5, 0.8, 0.0)
    """
    squared = z * z
    return squared / (squared + alarm_z * alarm_z)


_current: DetectionConfig | None = None


def get_config() -> DetectionConfig:
    """The process-wide config: the one given to :func:`set_config`, else the defaults, the
    file ``ABOUTCLOUD_CONFIG`` names and the ``ABOUTCLOUD_DETECTION__*`` variables.

    Reading the environment on each call (rather than at import) keeps imports side-effect free.
    """
    if _current is not None:
        return _current
    from backend.analytics.config_loading import config_from_environment

    return config_from_environment()


def set_config(config: DetectionConfig) -> None:
    """Make ``config`` the process-wide config returned by :func:`get_config`."""
    global _current
    if not isinstance(config, DetectionConfig):
        raise ConfigError("config", type(config).__name__, "must be a DetectionConfig")
    _current = config


def load_config(path: Any = None, environ: Mapping[str, str] | None = None) -> DetectionConfig:
    """Defaults, then the TOML/JSON file at ``path`` (if given), then the environment."""
    from backend.analytics.config_loading import load_config as _load

    return _load(path, environ)


def reset_config() -> None:
    """Forget the config set by :func:`set_config` (back to defaults + environment)."""
    global _current
    _current = None


def _unit_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(name, value, "must be a number")
    number = float(value)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise ConfigError(name, value, "must be in [0, 1]")
    return number


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(name, value, "must be an integer >= 1")
    return int(value)


def _non_empty_str(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(name, value, "must be a non-empty string")


def _tenant_overrides(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise ConfigError("tenants", value, "must be a mapping of tenant id -> overrides")
    out: dict[str, dict[str, Any]] = {}
    for tenant, overrides in value.items():
        if not isinstance(tenant, str) or not tenant.strip():
            raise ConfigError("tenants", tenant, "keys must be non-empty tenant ids")
        if not isinstance(overrides, Mapping):
            raise ConfigError(f"tenants[{tenant!r}]", overrides, "must be a table of overrides")
        owner = f"a tenant override; it cannot be set per tenant (only {', '.join(TENANT_FIELDS)})"
        reject_unknown_settings(overrides, TENANT_FIELDS, owner, prefix=f"tenants[{tenant!r}].")
        out[tenant] = dict(overrides)
    return out


def _thresholds(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ConfigError("metric_thresholds", value, "must be a mapping of metric -> threshold")
    out: dict[str, float] = {}
    for key, threshold in value.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError("metric_thresholds", key, "keys must be non-empty metric names")
        out[key] = _unit_float(f"metric_thresholds[{key!r}]", threshold)
    return out
