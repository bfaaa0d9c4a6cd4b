"""What the routes call: tenant-scoped reads and writes over the storage interface."""

from backend.api.services.anomalies import AnomalyPageResult, AnomalyQuery, AnomalyService
from backend.api.services.health import ClusterHealth, HealthService, TenantHealth
from backend.api.services.ingest import IngestOutcome, IngestService
from backend.api.services.metrics import MetricQueryService, SeriesScores

__all__ = [
    "AnomalyPageResult",
    "AnomalyQuery",
    "AnomalyService",
    "ClusterHealth",
    "HealthService",
    "IngestOutcome",
    "IngestService",
    "MetricQueryService",
    "SeriesScores",
    "TenantHealth",
]
