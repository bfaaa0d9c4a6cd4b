"""Ingestion: collect metrics from sources and files, validate them, store them per tenant.

Stages, one module each: :mod:`~backend.ingestion.sources` (the ``MetricSource`` plug-in point,
the simulator source), :mod:`~backend.ingestion.files` (long-format CSV/Parquet),
:mod:`~backend.ingestion.collector`, :mod:`~backend.ingestion.validator` (with
:mod:`~backend.ingestion.bounds`), :mod:`~backend.ingestion.tenant` (isolation),
:mod:`~backend.ingestion.pipeline` (the batch path shared by CLI, API and benchmark) and
:mod:`~backend.ingestion.replay` (recorded data at a chosen speed).
"""

from backend.ingestion.bounds import ValueBounds, bounds_for, series_bounds
from backend.ingestion.candidate import SeriesCandidate
from backend.ingestion.collector import MetricCollector
from backend.ingestion.files import FileSource, MetricFileError, read_metric_file, read_metric_frame
from backend.ingestion.pipeline import IngestionPipeline
from backend.ingestion.replay import ReplayBatch, ReplaySummary, replay
from backend.ingestion.report import IngestionReport, IngestionStats, RejectedSeries
from backend.ingestion.results import Severity, ValidationIssue, ValidationResult
from backend.ingestion.sources import MetricSource, SimulatorSource
from backend.ingestion.tenant import TenantIsolationValidator
from backend.ingestion.validator import MetricValidator

__all__ = [
    "FileSource",
    "IngestionPipeline",
    "IngestionReport",
    "IngestionStats",
    "MetricCollector",
    "MetricFileError",
    "MetricSource",
    "MetricValidator",
    "RejectedSeries",
    "ReplayBatch",
    "ReplaySummary",
    "SeriesCandidate",
    "Severity",
    "SimulatorSource",
    "TenantIsolationValidator",
    "ValidationIssue",
    "ValidationResult",
    "ValueBounds",
    "bounds_for",
    "read_metric_file",
    "read_metric_frame",
    "replay",
    "series_bounds",
]
