"""Evaluation: NAB scoring (our own implementation of its rules), event-level metrics,
simulated-fleet evaluation and inspection plots."""

from backend.evaluation.corpus import LabelledSeries, load_corpus
from backend.evaluation.events import EventMetrics, count_events, summarise_events
from backend.evaluation.fleet import FleetEvaluation, evaluate_fleet
from backend.evaluation.nab import NabEvaluation, evaluate_nab
from backend.evaluation.nab_scorer import (
    PROFILES,
    CostProfile,
    ThresholdScore,
    optimise_threshold,
    score_at_threshold,
)
from backend.evaluation.plotting import plot_scored_series

__all__ = [
    "PROFILES",
    "CostProfile",
    "EventMetrics",
    "FleetEvaluation",
    "LabelledSeries",
    "NabEvaluation",
    "ThresholdScore",
    "count_events",
    "evaluate_fleet",
    "evaluate_nab",
    "load_corpus",
    "optimise_threshold",
    "plot_scored_series",
    "score_at_threshold",
    "summarise_events",
]
