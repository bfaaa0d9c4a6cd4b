"""Score a node from all its metrics at once: jointly unusual beats individually borderline.

CPU and network traffic normally move together; a node whose CPU is busy while its network is
idle is unusual even when each metric alone sits inside its everyday range. Per-metric
detectors cannot see that. :class:`MultivariateNodeEngine` aligns a node's series by
timestamp, robust-scales each metric on a training prefix, fits a robust covariance to the
prefix (or keeps the prefix as neighbours) and scores every aligned point by how far it lies
from the joint usual behaviour. Node-level results carry ``metric_name="__node__"`` (see
:data:`NODE_METRIC`) and, in ``engine_metadata["contributions"]``, each metric's share of the
deviation.

Config keys: ``method`` (``mahalanobis``, or ``knn`` for nodes with several distinct usual
states), ``window_size`` (100 points), ``stride`` (window size), ``contamination`` (0.05),
``threshold`` (0.5), ``train_fraction`` (0.5), ``train_points`` (None: use the fraction; set
it for scores that never depend on later data), ``min_train_points`` (30), ``neighbors`` (10,
for knn), ``gap_points`` (5: a point after this many missing samples is anomalous),
``align_tolerance`` (0.5 sampling steps), ``emit_normal`` (True: one result per window),
``use_classifier`` (True), ``seed`` (0; both methods are deterministic, the key is kept for
configuration compatibility).

An isolation forest was tried and dropped: its path-length scores are bounded, so after
calibration even a gross outlier reached only z ≈ 3.5 (window score ≈ 0.5).

>>> import numpy as np
>>> from backend.analytics.types import MetricSeries
>>> rng = np.random.default_rng(0)
>>> t = np.arange(600, dtype=np.int64) * 60 * 10**9
>>> load = rng.uniform(20, 80, 600)
>>> cpu, net = load + rng.normal(0, 2, 600), 2 * load + rng.normal(0, 4, 600)
>>> cpu[450:460], net[450:460] = 75.0, 45.0  # busy CPU, quiet network: each value is usual
>>> node = [MetricSeries.from_arrays(("t", "c", "n1", m), t, v)
...         for m, v in (("cpu_usage", cpu), ("network_in", net))]
>>> flagged = [r for r in MultivariateNodeEngine().detect_node(node) if r.is_anomaly]
>>> [(r.metric_name, r.window_start.hour, r.window_start.minute) for r in flagged]
[('__node__', 6, 40)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import stats

from backend.analytics._timeconv import from_epoch_ns
from backend.analytics.config import alarm_z_for_window, z_to_score
from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.engine_support import (
    as_rates,
    calibrate,
    config_fraction,
    config_int,
    is_counter,
    missing_before,
    reject_unknown_settings,
)
from backend.analytics.types import AnomalyKind, AnomalyResult, MetricSeries, SeriesKey
from backend.analytics.windows import SlidingWindowExtractor
from backend.errors import ConfigError, ValidationError

__all__ = ["NODE_METRIC", "MultivariateNodeEngine", "NodeScores", "align_series"]

#: ``metric_name`` of node-level results (a joint score over all the node's metrics).
NODE_METRIC = "__node__"
_METHODS = ("mahalanobis", "knn")
#: Config keys the engine reads; any other is refused (a typo would run the default).
SETTINGS = frozenset({
    "method", "window_size", "stride", "min_train_points", "train_points", "train_fraction",
    "contamination", "threshold", "align_tolerance", "seed", "neighbors", "gap_points",
    "emit_normal", "use_classifier",
})  # fmt: skip


@dataclass(frozen=True)
class NodeScores:
    """Per-point joint scores of one node.

    ``z`` is a calibrated, z-like deviation per aligned timestamp (|N(0, 1)| for ordinary
    points); ``contributions[i, j]`` is metric ``j``'s share of point ``i``'s deviation.
    """

    key: SeriesKey
    metrics: tuple[str, ...]
    timestamps_ns: np.ndarray
    z: np.ndarray
    contributions: np.ndarray
    train_points: int
    aware: bool
    alarm_z: float = 3.0

    @property
    def scores(self) -> np.ndarray:
        """Per-point scores in [0, 1] (0.5 at ``alarm_z``), e.g. for point-wise evaluation."""
        return np.asarray(z_to_score(self.z, self.alarm_z), dtype=np.float64)


class MultivariateNodeEngine(AnomalyDetectionEngine):
    """Joint anomaly scores for a node's metrics; see the module docstring for config keys."""

    name: ClassVar[str] = "multivariate"
    version: ClassVar[str] = "1.0"

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        reject_unknown_settings(cfg, SETTINGS, "the multivariate engine")
        self.method = str(cfg.get("method", "mahalanobis"))
        if self.method not in _METHODS:
            raise ConfigError("method", self.method, f"must be one of {', '.join(_METHODS)}")
        self.window_size = config_int(cfg, "window_size", 100, 1)
        self.stride = config_int(cfg, "stride", self.window_size, 1)
        self.min_train_points = config_int(cfg, "min_train_points", 30, 3)
        self.train_points = cfg.get("train_points")
        if self.train_points is not None:
            self.train_points = config_int(cfg, "train_points", 0, self.min_train_points)
        self.train_fraction = config_fraction(cfg, "train_fraction", 0.5, upper=1.0)
        self.contamination = config_fraction(cfg, "contamination", 0.05, upper=0.5)
        self.threshold = config_fraction(cfg, "threshold", 0.5, upper=1.0)
        self.align_tolerance = config_fraction(cfg, "align_tolerance", 0.5, upper=1.0)
        self.seed = config_int(cfg, "seed", 0, 0)
        self.neighbors = config_int(cfg, "neighbors", 10, 1)
        self.gap_points = config_int(cfg, "gap_points", 5, 1)
        self.emit_normal = bool(cfg.get("emit_normal", True))
        self.use_classifier = bool(cfg.get("use_classifier", True))

    def detect(
        self, time_series: MetricSeries, window_size: int | None = None
    ) -> list[AnomalyResult]:
        """One series alone: the same robust scoring in one dimension (a robust z-score)."""
        return self._results(self.score_node([time_series]), window_size, time_series.metric_name)

    def detect_node(
        self, series_list: list[MetricSeries], window_size: int | None = None
    ) -> list[AnomalyResult]:
        """Node-level results (``metric_name="__node__"``), one per window, in time order."""
        return self._results(self.score_node(series_list), window_size, NODE_METRIC)

    def score_series(self, series: MetricSeries) -> NodeScores:
        """Per-point scores of one series (what :meth:`detect` windows)."""
        return self.score_node([series])

    def results_from_scores(
        self, time_series: MetricSeries, scored: NodeScores, window_size: int | None = None
    ) -> list[AnomalyResult]:
        """What :meth:`detect` returns, from :meth:`score_series`' scores."""
        return self._results(scored, window_size, time_series.metric_name)

    def score_node(self, series_list: list[MetricSeries]) -> NodeScores:
        """Per-point joint scores; trains on the prefix, scores every aligned point.

        Counters (``*_total``, ``metric_type=counter``) are scored as rates, and a point after
        ``gap_points`` or more missing samples scores twice the window alarm level.
        """
        series_list = [_as_gauge(s) for s in _check_node(series_list, self)]
        timestamps, matrix = align_series(series_list, self.align_tolerance)
        n = timestamps.size
        train = self._train_size(n)
        if train < self.min_train_points:
            reason = f"needs {self.min_train_points} aligned training points, has {train}"
            raise ValidationError("series_list", f"{n} aligned points", reason)
        _check_spans(series_list, matrix)
        scaled = _robust_scale(matrix, train)
        mean, precision = _robust_moments(scaled[:train])
        terms = _distance_terms(scaled, mean, precision)
        if self.method == "mahalanobis":
            raw = np.sqrt(np.clip(terms.sum(axis=1), 0.0, None))
        else:
            raw = self._knn_scores(scaled, train)
        z = calibrate(raw, train)
        gap_z = 2.0 * alarm_z_for_window(self.contamination, self.window_size)
        z = np.where(missing_before(timestamps) >= self.gap_points, np.maximum(z, gap_z), z)
        first = series_list[0]
        return NodeScores(first.key, tuple(s.metric_name for s in series_list), timestamps, z,
                          _shares(terms), train, first.aware,
                          alarm_z_for_window(self.contamination, 1))  # fmt: skip

    def _train_size(self, n: int) -> int:
        if self.train_points is not None:
            return min(int(self.train_points), n)
        return min(n, max(self.min_train_points, int(n * self.train_fraction)))

    def _knn_scores(self, scaled: np.ndarray, train: int) -> np.ndarray:
        """Mean distance (robust-scaled units) to the ``neighbors`` nearest training rows;
        training rows skip themselves. Unbounded, and it sees gaps between usual states that
        one covariance cannot (a node that is either idle or busy, never half-busy)."""
        from sklearn.neighbors import NearestNeighbors

        k = min(self.neighbors, train - 1)
        index = NearestNeighbors(n_neighbors=k + 1).fit(scaled[:train])
        head, _ = index.kneighbors(scaled[:train], k + 1)
        rest = index.kneighbors(scaled[train:], k)[0] if scaled.shape[0] > train else (
            np.empty((0, k)))  # fmt: skip
        return np.concatenate([head[:, 1:].mean(axis=1), rest.mean(axis=1)])

    def _results(self, scores: NodeScores, window_size: int | None, metric: str
                 ) -> list[AnomalyResult]:  # fmt: skip
        size = window_size or self.window_size
        stride = self.stride if window_size is None else window_size
        starts, ends = SlidingWindowExtractor(size, stride, True).bounds(scores.z.size)
        kinds = self._kinds(scores, starts, ends, metric)
        results = [self._window(scores, int(a), int(b), metric, kind)
                   for a, b, kind in zip(starts, ends, kinds, strict=True)]  # fmt: skip
        return results if self.emit_normal else [r for r in results if r.is_anomaly]

    def _window(self, scores: NodeScores, a: int, b: int, metric: str,
                kind: AnomalyKind | None) -> AnomalyResult:  # fmt: skip
        window = scores.z[a:b]
        peak = a + int(np.argmax(window))
        # In-sample peaks compete with the whole training set their calibration came from.
        span = scores.train_points if peak < scores.train_points else b - a
        alarm = alarm_z_for_window(self.contamination, span)
        evidence = float(scores.z[peak])
        score = float(z_to_score(evidence, alarm))
        anomalous = score >= self.threshold
        shares = scores.contributions[peak]
        key = scores.key
        return AnomalyResult(
            key.tenant_id, key.cluster_id, key.node_id, metric,
            window_start=from_epoch_ns(int(scores.timestamps_ns[a]), scores.aware),
            window_end=from_epoch_ns(int(scores.timestamps_ns[b - 1]), scores.aware),
            anomaly_score=score,
            anomaly_label=(kind or AnomalyKind.SPIKE).label.value if anomalous else "normal",
            magnitude=evidence / (evidence + alarm),
            explanation=_sentence(scores, peak, shares) if anomalous else None,
            engine_metadata={
                "engine": self.name, "engine_version": self.version, "method": self.method,
                "peak_z": evidence, "alarm_z": alarm,
                "peak_timestamp": from_epoch_ns(int(scores.timestamps_ns[peak])).isoformat(),
                "contributions": dict(zip(scores.metrics, map(float, shares), strict=True)),
                "train_points": scores.train_points, "in_training": a < scores.train_points,
            },
            anomaly_kind=(kind or AnomalyKind.SPIKE).value if anomalous else None,
        )  # fmt: skip

    def _kinds(self, scores: NodeScores, starts: np.ndarray, ends: np.ndarray, metric: str
               ) -> list[AnomalyKind | None]:  # fmt: skip
        """Kinds of the windows, from the shape of the joint deviation (spike, shift, ...)."""
        if not self.use_classifier:
            return [None] * starts.size
        from backend.analytics.explain import ExplanationClassifier

        deviation = MetricSeries.from_arrays(SeriesKey(*scores.key[:3], metric),
                                             scores.timestamps_ns, scores.z)  # fmt: skip
        probes = [_probe(deviation, int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
        explained = ExplanationClassifier().classify_batch(deviation, probes)
        return [e.anomaly_kind for e in explained]


def align_series(series_list: list[MetricSeries], tolerance: float = 0.5
                 ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Timestamps shared by every series (within ``tolerance`` sampling steps) and the values.

    The sparsest series sets the grid; each other series contributes its nearest point when it
    lies within ``tolerance`` times the grid's median step. Rows missing from any series are
    dropped. Returns ``(timestamps_ns, values)`` with ``values[:, j]`` from ``series_list[j]``.
    """
    ref = min(range(len(series_list)), key=lambda j: series_list[j].length)
    grid = series_list[ref].timestamps_ns
    step = float(np.median(np.diff(grid))) if grid.size > 1 else 1.0
    keep = np.ones(grid.size, dtype=bool)
    columns = []
    for series in series_list:
        index, ok = _nearest(series.timestamps_ns, grid, tolerance * step)
        keep &= ok
        columns.append(series.values_array[index])
    return grid[keep], np.column_stack(columns)[keep]


def _nearest(t: np.ndarray, grid: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    right = np.clip(np.searchsorted(t, grid), 0, t.size - 1)
    left = np.clip(right - 1, 0, t.size - 1)
    closer_left = np.abs(t[left] - grid) < np.abs(t[right] - grid)
    index = np.where(closer_left, left, right)
    return index, np.abs(t[index] - grid) <= tolerance


def _check_spans(series_list: list[MetricSeries], matrix: np.ndarray) -> None:
    """Values whose differences overflow a float (±1e308) cannot be scaled: reject them."""
    with np.errstate(over="ignore", invalid="ignore"):
        spans = matrix.max(axis=0) - matrix.min(axis=0)  # rows exist: training was checked
    for series, span in zip(series_list, spans, strict=True):
        if not np.isfinite(span):
            reason = "values too far apart to compare: their differences overflow a float"
            raise ValidationError("values", str(series.key), reason)


def _robust_scale(matrix: np.ndarray, train: int) -> np.ndarray:
    """Centre each metric on its training median and divide by its robust spread.

    A metric that never moved in training gets a spread of 0.1 % of its level, so any later
    change stands out instead of dividing by zero.
    """
    head = matrix[:train]
    center = np.median(head, axis=0)
    spread = 1.4826 * np.median(np.abs(head - center), axis=0)
    spread = np.where(spread > 0, spread, head.std(axis=0))
    floor = np.maximum(1e-3 * np.abs(center), 1e-9)
    return (matrix - center) / np.where(spread > 0, spread, floor)


def _as_gauge(series: MetricSeries) -> MetricSeries:
    """A counter's per-second rate (same identity); other series unchanged."""
    if not is_counter(series):
        return series
    return series.with_arrays(series.timestamps_ns,
                              as_rates(series.timestamps_ns, series.values_array))  # fmt: skip


def _robust_moments(head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and precision of the training rows, robust to the anomalies among them.

    Three rounds drop the rows beyond the 97.5 % chi-square quantile before the mean and
    covariance are re-estimated, then the covariance is rescaled so the median distance matches
    the chi-square median (as minimum covariance determinant estimators do).
    """
    p = head.shape[1]
    keep = np.ones(head.shape[0], dtype=bool)
    cut = stats.chi2.ppf(0.975, p)
    for _ in range(3):
        mean, precision = _moments(head[keep])
        centred = head - mean
        d2 = np.einsum("ij,jk,ik->i", centred, precision, centred)
        keep = d2 <= cut if np.count_nonzero(d2 <= cut) > p + 2 else keep
    mean, precision = _moments(head[keep])
    centred = head - mean
    consistency = np.median(np.einsum("ij,jk,ik->i", centred, precision, centred))
    return mean, precision * stats.chi2.median(p) / max(float(consistency), 1e-12)


def _distance_terms(scaled: np.ndarray, mean: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Each metric's part of every row's squared Mahalanobis distance (rows sum to it)."""
    deviation = scaled - mean
    return np.asarray(deviation * (deviation @ precision), dtype=np.float64)


def _shares(terms: np.ndarray) -> np.ndarray:
    positive = np.clip(terms, 0.0, None)
    return positive / np.maximum(positive.sum(axis=1, keepdims=True), 1e-12)


def _moments(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = rows.mean(axis=0)
    cov = np.atleast_2d(np.cov(rows, rowvar=False))
    ridge = 1e-6 * max(float(np.trace(cov)) / cov.shape[0], 1e-12)
    return mean, np.linalg.inv(cov + ridge * np.eye(cov.shape[0]))


def _probe(deviation: MetricSeries, a: int, b: int) -> AnomalyResult:
    return AnomalyResult(*deviation.key, deviation.timestamps[a], deviation.timestamps[b - 1],
                         1.0, "spike")  # fmt: skip


def _sentence(scores: NodeScores, peak: int, shares: np.ndarray) -> str:
    if len(scores.metrics) == 1:  # one series alone (``detect``): nothing joint to tell
        at = from_epoch_ns(int(scores.timestamps_ns[peak]))
        return (f"{scores.metrics[0]} on {scores.key.node_id} is unusual at "
                f"{at:%Y-%m-%d %H:%M} UTC (robust z {scores.z[peak]:.1f})")  # fmt: skip
    order = np.argsort(-shares)[:3]
    parts = ", ".join(f"{scores.metrics[j]} {shares[j]:.0%}" for j in order if shares[j] > 0)
    when = from_epoch_ns(int(scores.timestamps_ns[peak]))
    return (f"{scores.key.node_id}: its metrics are jointly unusual at {when:%Y-%m-%d %H:%M} UTC "
            f"(joint z {scores.z[peak]:.1f}; share of the deviation: {parts})")  # fmt: skip


def _check_node(series_list: Any, engine: MultivariateNodeEngine) -> list[MetricSeries]:
    if isinstance(series_list, MetricSeries):
        series_list = [series_list]
    series_list = list(series_list or [])
    if not series_list:
        raise ValidationError("series_list", series_list, "needs at least one series")
    for series in series_list:
        engine.validate_input(series)
    first = series_list[0]
    for series in series_list[1:]:
        if series.key[:3] != first.key[:3]:
            raise ValidationError("series_list", str(series.key),
                                  f"belongs to another node than {first.key}")  # fmt: skip
    names = [s.metric_name for s in series_list]
    if len(set(names)) != len(names):
        raise ValidationError("series_list", names, "metric names must be distinct")
    return series_list
