"""Salesforce Merlion behind the engine seam (the ``aboutcloud[merlion]`` extra).

:class:`MerlionAnomalyEngine` trains a Merlion detector on a prefix of the series, scores the
rest in chunks with the preceding history (Merlion has no incremental update, and scoring a
long horizon in one call makes forecasters predict far ahead), and turns Merlion's calibrated
scores into :class:`AnomalyResult` windows.

Score mapping: Merlion calibrates raw scores to z-like values (|N(0, 1)| on the training data)
and alarms at ``alm_threshold`` (3 by default). A window's peak |z| is mapped with
``z² / (z² + a²)``, where ``a`` is the larger of that alarm level and the level at which about
``contamination`` of normal windows of this length would alarm
(:func:`~backend.analytics.config.alarm_z_for_window`): a window at the alarm level scores 0.5,
twice the level 0.8. Per-point scores (:meth:`score_series`) use ``a = alm_threshold``.

Windows inside the training prefix are scored in sample (``engine_metadata["in_training"]``):
an anomaly there is part of what the model learned from, and forecasting members (ETS in
``DefaultDetector``, ARIMA) warm up at its start. So a peak inside the prefix must reach the
alarm level of the whole prefix (``alarm_z_for_window(contamination, train_points)``), not of
one window: about ``contamination`` false alarms over the whole prefix instead of per window.
Set ``train_points`` for scores that never depend on later data (every point after the prefix
is then scored from its past only).

Default model: ``ZMS`` (multi-scale z-scores). On 30 simulated two-day series with an injected
spike, level shift or drift in the second day (100-point windows), it flagged the anomalous
window in 24 of 30 cases with 3 false alarms in 191 normal windows; ArimaDetector 18/30 with
2/191 (2.4x slower), SpectralResidual 16/30 with 38/191, IsolationForest 5/30 with 17/191 and
DefaultDetector 8/9 with 10/36 on a 9-series subset (about 45 s per series, needs Java, and its
random cut forest is not seeded, so it is not deterministic).

Config keys: ``model`` (a Merlion model name, default ``ZMS``; also ``DefaultDetector``,
``IsolationForest``, ``SpectralResidual``, ``ArimaDetector``, ``WindStats`` ...),
``model_config`` (keyword arguments for the model), ``window_size`` (100 points), ``stride``
(window size), ``contamination`` (0.05), ``threshold`` (0.5), ``train_fraction`` (0.5),
``train_points`` (None: use the fraction), ``min_train_points`` (50), ``chunk_size`` (60),
``history_points`` (1440), ``gap_points`` (5: a point after this many missing samples scores
twice the window alarm level), ``emit_normal`` (True: one result per window),
``use_classifier`` (True) and ``shutdown_jvm`` (True: stop Merlion's Java gateway after each
call). Counters (``*_total``, ``*_count``, ``*_sum`` or ``metric_type=counter``) are scored
as per-second rates; a training prefix that never moves is scored without Merlion (any
change from the flat line, against 0.1 % of its level), as Merlion cannot calibrate on it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from backend.analytics._timeconv import NS_PER_SECOND, from_epoch_ns
from backend.analytics.config import alarm_z_for_window, z_to_score
from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.engine_support import (
    Z_CAP,
    as_rates,
    config_fraction,
    config_int,
    is_counter,
    missing_before,
    rate_series,
    reject_unknown_settings,
)
from backend.analytics.types import AnomalyKind, AnomalyResult, MetricSeries
from backend.analytics.windows import SlidingWindowExtractor
from backend.errors import ConfigError, DetectionError, EngineUnavailableError, ValidationError

__all__ = [
    "MERLION_EXTRA",
    "MODEL_DEFAULTS",
    "MerlionAnomalyEngine",
    "MerlionScores",
    "quiet_granularity_notice",
    "require_merlion",
    "shutdown_jvm",
]

MERLION_EXTRA = "aboutcloud[merlion]"
#: Per-model keyword defaults (the caller's ``model_config`` wins): one core for the forest,
#: whose Merlion default ``n_jobs=-1`` takes every core of a shared machine.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {"IsolationForest": {"n_jobs": 1}}
JVM_OPTIONS = "-Xmx512m"  # Merlion's RandomCutForest JVM has no memory cap of its own
#: Config keys the engine reads; any other is refused (a typo would run the default).
SETTINGS = frozenset({
    "model", "model_config", "window_size", "stride", "contamination", "threshold",
    "train_fraction", "min_train_points", "train_points", "chunk_size", "history_points",
    "gap_points", "emit_normal", "use_classifier", "shutdown_jvm",
})  # fmt: skip


@dataclass(frozen=True)
class MerlionScores:
    """Per-point output of :meth:`MerlionAnomalyEngine.score_series`.

    ``z`` holds Merlion's calibrated scores as magnitudes (0 where Merlion returned no score,
    e.g. the first point after differencing); ``scores`` maps them to [0, 1] (0.5 at
    ``alarm_z``). The first ``train_points`` points were the training data (scored in sample).
    """

    timestamps_ns: np.ndarray
    z: np.ndarray
    scores: np.ndarray
    alarm_z: float
    train_points: int


class MerlionAnomalyEngine(AnomalyDetectionEngine):
    """A Merlion detector per series; see the module docstring for config and score mapping.

    Engines keep only their configuration, so they pickle and clone freely; each call trains
    a fresh Merlion model.
    """

    name: ClassVar[str] = "merlion"
    version: ClassVar[str] = "1.0"

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        reject_unknown_settings(cfg, SETTINGS, "the merlion engine")
        require_merlion()
        self.model = str(cfg.get("model", "ZMS"))
        self.model_config = dict(cfg.get("model_config") or {})
        self.window_size = config_int(cfg, "window_size", 100, 1)
        self.stride = config_int(cfg, "stride", self.window_size, 1)
        self.contamination = config_fraction(cfg, "contamination", 0.05, 0.5)
        self.threshold = config_fraction(cfg, "threshold", 0.5, 1.0)
        self.train_fraction = config_fraction(cfg, "train_fraction", 0.5, 1.0)
        self.min_train_points = config_int(cfg, "min_train_points", 50, 5)
        raw_train = cfg.get("train_points")
        self.train_points = (
            None if raw_train is None else config_int(cfg, "train_points", 0, self.min_train_points)
        )
        self.chunk_size = config_int(cfg, "chunk_size", 60, 1)
        self.history_points = config_int(cfg, "history_points", 1440, 1)
        self.gap_points = config_int(cfg, "gap_points", 5, 1)
        self.emit_normal = bool(cfg.get("emit_normal", True))
        self.use_classifier = bool(cfg.get("use_classifier", True))
        self.shutdown_jvm = bool(cfg.get("shutdown_jvm", True))

    def detect(
        self, time_series: MetricSeries, window_size: int | None = None
    ) -> list[AnomalyResult]:
        """One result per window (``window_size`` points), in time order."""
        return self.results_from_scores(time_series, self.score_series(time_series), window_size)

    def results_from_scores(
        self, time_series: MetricSeries, scored: MerlionScores, window_size: int | None = None
    ) -> list[AnomalyResult]:
        """What :meth:`detect` returns, from :meth:`score_series`' scores (Merlion runs once)."""
        size = window_size or self.window_size
        stride = self.stride if window_size is None else window_size
        starts, ends = SlidingWindowExtractor(size, stride, True).bounds(time_series.length)
        results = [self._window(time_series, scored, int(a), int(b))
                   for a, b in zip(starts, ends, strict=True)]  # fmt: skip
        results = self._name_kinds(time_series, results)
        return results if self.emit_normal else [r for r in results if r.is_anomaly]

    def score_series(self, series: MetricSeries) -> MerlionScores:
        """Calibrated per-point scores: train on the prefix, score the rest chunk by chunk."""
        self.validate_input(series)
        train = self._train_size(series.length)
        if train < self.min_train_points:
            reason = f"needs {self.min_train_points} training points, has {train}"
            raise ValidationError("time_series", f"{series.length} points", reason)
        with _merlion_calls():
            model = self._build_model()
            try:
                return self._score(series, train, model)
            except (AssertionError, ValueError, KeyError, RuntimeError) as exc:
                raise DetectionError(
                    f"Merlion {self.model} failed on {series.key}: {type(exc).__name__}: {exc}"
                ) from exc
            finally:
                if self.shutdown_jvm:
                    shutdown_jvm()

    def _score(self, series: MetricSeries, train: int, model: Any) -> MerlionScores:
        ts_ns, values = series.timestamps_ns, series.values_array
        if is_counter(series):
            values = as_rates(ts_ns, values)
        if np.ptp(values[:train]) == 0.0:
            z, alarm = _constant_history_z(values, train), 3.0
        else:
            z, alarm = self._merlion_z(model, ts_ns, values, train), _alarm_level(model)
        gap_z = 2.0 * max(alarm, alarm_z_for_window(self.contamination, self.window_size))
        z = np.where(missing_before(ts_ns) >= self.gap_points, np.maximum(z, gap_z), z)
        return MerlionScores(ts_ns, z, np.asarray(z_to_score(z, alarm)), alarm, train)

    def _merlion_z(self, model: Any, ts_ns: np.ndarray, values: np.ndarray, train: int
                   ) -> np.ndarray:  # fmt: skip
        """|calibrated score| per point: in sample on the prefix, then chunk by chunk."""
        raw = [model.train(_to_merlion(ts_ns[:train], values[:train]))]
        for start in range(train, ts_ns.size, self.chunk_size):
            stop = min(start + self.chunk_size, ts_ns.size)
            past = max(0, start - self.history_points)
            raw.append(model.get_anomaly_score(
                _to_merlion(ts_ns[start:stop], values[start:stop]),
                time_series_prev=_to_merlion(ts_ns[past:start], values[past:start]),
            ))  # fmt: skip
        z = np.zeros(ts_ns.size)
        for part in raw:
            stamps, calibrated = _calibrated(model, part)
            index = np.searchsorted(ts_ns, stamps)
            found = (index < ts_ns.size) & (ts_ns[np.minimum(index, ts_ns.size - 1)] == stamps)
            z[index[found]] = np.abs(calibrated[found])
        return np.clip(np.nan_to_num(z, nan=0.0, posinf=Z_CAP), 0.0, Z_CAP)

    def _build_model(self) -> Any:
        from merlion.models.factory import ModelFactory

        quiet_granularity_notice()

        try:
            kwargs = {**MODEL_DEFAULTS.get(self.model, {}), **self.model_config}
            return ModelFactory.create(self.model, **kwargs)
        except (KeyError, TypeError, ValueError, ImportError) as exc:
            reason = (
                f"not a usable Merlion model ({type(exc).__name__}); see merlion.models.factory"
            )
            raise ConfigError("model", self.model, reason) from None

    def _train_size(self, n: int) -> int:
        if self.train_points is not None:
            return min(self.train_points, n)
        return min(n, max(self.min_train_points, int(n * self.train_fraction)))

    def _window(self, series: MetricSeries, scored: MerlionScores, a: int, b: int
                ) -> AnomalyResult:  # fmt: skip
        peak = a + int(np.argmax(scored.z[a:b]))
        # In-sample peaks compete with the whole training set their calibration came from.
        span = scored.train_points if peak < scored.train_points else b - a
        alarm = max(scored.alarm_z, alarm_z_for_window(self.contamination, span))
        peak_z = float(scored.z[peak])
        score = float(z_to_score(peak_z, alarm))
        anomalous = score >= self.threshold
        return AnomalyResult(
            *series.key,
            window_start=from_epoch_ns(int(scored.timestamps_ns[a]), series.aware),
            window_end=from_epoch_ns(int(scored.timestamps_ns[b - 1]), series.aware),
            anomaly_score=score,
            anomaly_label="spike" if anomalous else "normal",
            magnitude=peak_z / (peak_z + alarm),
            engine_metadata={
                "engine": self.name, "engine_version": self.version, "model": self.model,
                "peak_z": peak_z, "alarm_z": alarm, "train_points": scored.train_points,
                "in_training": a < scored.train_points,
                "peak_timestamp": from_epoch_ns(int(scored.timestamps_ns[peak])).isoformat(),
            },
        )  # fmt: skip

    def _name_kinds(self, series: MetricSeries, results: list[AnomalyResult]
                    ) -> list[AnomalyResult]:  # fmt: skip
        """Kinds and sentences for anomalous windows from the explanation classifier."""
        flagged = [i for i, r in enumerate(results) if r.is_anomaly]
        if not (self.use_classifier and flagged):
            return results
        from backend.analytics.explain import ExplanationClassifier

        told = rate_series(series) if is_counter(series) else series  # what was scored
        explained = ExplanationClassifier().classify_batch(told, [results[i] for i in flagged])
        out = list(results)
        for i, explanation in zip(flagged, explained, strict=True):
            kind = explanation.anomaly_kind or AnomalyKind.SPIKE
            text = explanation.description if explanation.anomaly_kind else None
            out[i] = _relabel(results[i], kind, text or self.explain(series, results[i]))
        return out


def _relabel(result: AnomalyResult, kind: AnomalyKind, text: str) -> AnomalyResult:
    return dataclasses.replace(result, anomaly_label=kind.label.value, anomaly_kind=kind.value,
                               explanation=text)  # fmt: skip


def require_merlion(module: str = "merlion") -> None:
    """Raise :class:`EngineUnavailableError` naming the extra when Merlion is not installed."""
    if importlib.util.find_spec(module) is None:
        raise EngineUnavailableError(
            f"the Merlion engine needs the {module!r} package: pip install '{MERLION_EXTRA}'"
        )


def shutdown_jvm() -> None:
    """Stop the Java gateway Merlion's RandomCutForest started, if any (it outlives calls)."""
    module = sys.modules.get("merlion.models.anomaly.random_cut_forest")
    singleton = getattr(module, "JVMSingleton", None)
    gateway = getattr(singleton, "_gateway", None)
    if gateway is None:
        return
    process = getattr(gateway, "java_process", None)
    gateway.shutdown()
    singleton._gateway = None  # type: ignore[union-attr]
    if process is not None:  # py4j leaves the JVM's pipes open: close them, reap the process
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def _merlion_calls() -> Iterator[None]:
    """Cap the JVM before it can start, and keep Merlion's pandas FutureWarnings (harmless on
    pandas 2.x, and errors under ``-W error``) inside the wrapper."""
    os.environ.setdefault("JAVA_TOOL_OPTIONS", JVM_OPTIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _to_merlion(ts_ns: np.ndarray, values: np.ndarray) -> Any:
    from merlion.utils import UnivariateTimeSeries

    seconds = ts_ns.astype(np.float64) / NS_PER_SECOND
    return UnivariateTimeSeries(seconds, values, name="value").to_ts()


def _calibrated(model: Any, raw: Any) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated (z-like) scores and their timestamps (epoch ns) from Merlion's raw scores."""
    enabled = getattr(model.config, "enable_calibrator", False)
    calibrated = model.calibrator(raw) if enabled and model.calibrator is not None else raw
    frame = calibrated.to_pd()
    stamps = frame.index.as_unit("ns").asi8.astype(np.int64)
    return stamps, frame.to_numpy(dtype=np.float64).ravel()


def _constant_history_z(values: np.ndarray, train: int) -> np.ndarray:
    """Merlion cannot calibrate on a flat line; then any change from it is the anomaly,
    measured against 0.1 % of the level."""
    level = float(values[0])
    scale = max(1e-3 * abs(level), 1e-9)
    return np.asarray(np.minimum(np.abs(values - level) / scale, Z_CAP), dtype=np.float64)


def _alarm_level(model: Any) -> float:
    level = getattr(getattr(model, "threshold", None), "alm_threshold", None)
    return float(level) if level else 3.0


class _GranularityNotice(logging.Filter):
    """Drops Merlion's "Inferred granularity" warning, logged once per model trained: taking
    the step from the data is what this engine asks of Merlion, so over a batch of series
    the warning is only noise (other Merlion warnings still show)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Inferred granularity")


def quiet_granularity_notice() -> None:
    """Leave out Merlion's "Inferred granularity" warning from here on (see
    :class:`_GranularityNotice`); calling it again adds nothing."""
    resample = logging.getLogger("merlion.transform.resample")
    if not any(isinstance(f, _GranularityNotice) for f in resample.filters):
        resample.addFilter(_GranularityNotice())
