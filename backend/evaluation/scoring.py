"""Per-point scores from any engine, for evaluation and file scoring.

Engines that can score point by point (``score_series``, like the default engine) are used
directly. Others only return windows from ``detect``; each point then gets the score of the
window holding it (0 outside windows), which is what a window-based engine claims.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.types import MetricSeries

__all__ = ["engine_scores", "engine_threshold", "window_scores"]


def window_scores(series: MetricSeries, results: list[Any]) -> np.ndarray:
    """Each point's score = the highest score of an anomalous result window covering it."""
    ts = series.timestamps_ns
    scores = np.zeros(ts.shape[0])
    for result in results:
        if not result.is_anomaly:
            continue
        lo = int(np.searchsorted(ts, to_epoch_ns(result.window_start), side="left"))
        hi = int(np.searchsorted(ts, to_epoch_ns(result.window_end), side="right"))
        scores[lo:hi] = np.maximum(scores[lo:hi], result.anomaly_score)
    return scores


def engine_scores(engine: AnomalyDetectionEngine, series: MetricSeries) -> np.ndarray:
    """Per-point scores in [0, 1] for ``series`` from ``engine``."""
    scorer = getattr(engine, "score_series", None)
    if scorer is not None:
        return np.asarray(scorer(series).scores, dtype=np.float64)
    return window_scores(series, engine.detect(series))


def engine_threshold(engine: AnomalyDetectionEngine, default: float = 0.5) -> float:
    """The score at or above which ``engine`` calls a point anomalous."""
    value = getattr(engine, "threshold", None)
    if value is None:
        value = engine.config.get("threshold", engine.config.get("anomaly_score_threshold"))
    return float(value) if value is not None else default
