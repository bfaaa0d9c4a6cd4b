"""Evaluating an engine on a NAB-layout corpus: NAB scores for the three profiles (threshold
optimised as NAB does, and at the engine's own threshold) plus event-level metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.types import MetricSeries, SeriesKey
from backend.evaluation.corpus import LabelledSeries, load_corpus
from backend.evaluation.events import EventCounts, EventMetrics, count_events, summarise_events
from backend.evaluation.nab_scorer import (
    PROFILES,
    FileScore,
    ThresholdScore,
    file_scores,
    optimise_threshold,
    probation_length,
    score_at_threshold,
)
from backend.evaluation.scoring import engine_scores, engine_threshold

__all__ = ["NabEvaluation", "evaluate_nab", "nab_scores", "series_of"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class NabEvaluation:
    """NAB results for one engine on one corpus."""

    engine: str
    dataset: str
    files: int
    points: int
    windows: int
    threshold: float
    optimised: tuple[ThresholdScore, ...]
    at_threshold: tuple[ThresholdScore, ...]
    events: EventMetrics
    seconds: float
    #: Each file's share of the standard profile's score at its optimised threshold.
    per_file: tuple[FileScore, ...] = ()


def series_of(item: LabelledSeries) -> MetricSeries:
    """A corpus file as a :class:`MetricSeries` (tenant ``nab``, metric = file name)."""
    group, _, name = item.name.rpartition("/")
    key = SeriesKey("nab", group or "corpus", "file", name.removesuffix(".csv"))
    return MetricSeries.from_arrays(key, item.timestamps_ns, item.values)


def nab_scores(
    scores: Sequence[np.ndarray], corpus: Sequence[LabelledSeries], threshold: float
) -> tuple[tuple[ThresholdScore, ...], tuple[ThresholdScore, ...]]:
    """(optimised, at ``threshold``) NAB scores for every profile."""
    windows = [item.windows for item in corpus]
    optimised = tuple(optimise_threshold(scores, windows, p) for p in PROFILES)
    fixed = tuple(score_at_threshold(scores, windows, p, threshold) for p in PROFILES)
    return optimised, fixed


def _events(
    scores: Sequence[np.ndarray], corpus: Sequence[LabelledSeries], threshold: float
) -> EventMetrics:
    total = EventCounts()
    for one_file, item in zip(scores, corpus, strict=True):
        total = total + count_events(
            one_file,
            item.windows,
            threshold,
            item.timestamps_ns,
            skip=probation_length(item.length),
        )
    return summarise_events(total, threshold)


def evaluate_nab(
    engine: AnomalyDetectionEngine, dataset_dir: Path | str, progress: Progress | None = None
) -> NabEvaluation:
    """Score every file of ``dataset_dir`` with ``engine`` and evaluate the scores."""
    corpus = load_corpus(dataset_dir)
    started = time.perf_counter()
    scores = []
    for done, item in enumerate(corpus, start=1):
        scores.append(engine_scores(engine, series_of(item)))
        if progress is not None:
            progress(done, len(corpus))
    seconds = time.perf_counter() - started
    threshold = engine_threshold(engine)
    optimised, fixed = nab_scores(scores, corpus, threshold)
    per_file = file_scores(
        scores,
        [item.windows for item in corpus],
        [item.name for item in corpus],
        PROFILES[0],
        optimised[0].threshold,
    )
    return NabEvaluation(
        engine.engine_name(),
        str(dataset_dir),
        len(corpus),
        sum(c.length for c in corpus),
        sum(len(c.windows) for c in corpus),
        threshold,
        optimised,
        fixed,
        _events(scores, corpus, threshold),
        seconds,
        per_file,
    )
