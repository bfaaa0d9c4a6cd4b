"""Build the FastAPI application from its dependencies.

Nothing is created at import time: :func:`create_app` receives settings, a storage backend and
an engine (the CLI and tests build those), wires the services, the auth dependency, the error
table and the middleware, and returns a ready ASGI app.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from backend.analytics.config import DetectionConfig
from backend.analytics.engine import AnomalyDetectionEngine
from backend.api.auth import ApiKeyService, Authenticator
from backend.api.deps import ApiContext
from backend.api.middleware import RequestContextMiddleware
from backend.api.openapi import install_openapi
from backend.api.problems import install_problem_handlers
from backend.api.ratelimit import TokenBucketLimiter
from backend.api.routes import anomalies, health, keys, metrics, nodes
from backend.api.services.anomalies import AnomalyService
from backend.api.services.health import HealthService
from backend.api.services.ingest import IngestService
from backend.api.services.metrics import MetricQueryService
from backend.api.settings import ApiSettings
from backend.ingestion import IngestionPipeline, MetricValidator
from backend.storage.interface import StorageBackend

__all__ = ["API_VERSION", "build_context", "create_app"]

API_VERSION = "1.0.0"
_DESCRIPTION = (
    "Multi-tenant anomaly analytics for cloud metrics. Authenticate with "
    "`Authorization: Bearer <API key>`; every answer is scoped to the key's tenant. "
    "Errors are RFC 9457 `application/problem+json`."
)


def create_app(
    settings: ApiSettings,
    storage: StorageBackend,
    engine: AnomalyDetectionEngine,
    pipeline: IngestionPipeline | None = None,
    detection: DetectionConfig | None = None,
) -> FastAPI:
    """The API (and dashboard, unless disabled) over ``storage``, scoring with ``engine``.

    ``pipeline`` defaults to an :class:`IngestionPipeline` with a default
    :class:`MetricValidator` writing to ``storage``; pass one to share a validator config.
    ``detection`` (thresholds, static limits) defaults to the process-wide configuration.
    """
    app = FastAPI(
        title="AboutCloud API",
        version=API_VERSION,
        description=_DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.context = build_context(settings, storage, engine, pipeline, detection)
    install_problem_handlers(app)
    for router in (metrics.router, anomalies.router, health.router, nodes.router, keys.router):
        app.include_router(router)
    if settings.dashboard_enabled:
        from backend.dashboard import mount_dashboard

        mount_dashboard(app, settings)
    install_openapi(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        access_log=settings.access_log,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    return app


def build_context(
    settings: ApiSettings,
    storage: StorageBackend,
    engine: AnomalyDetectionEngine,
    pipeline: IngestionPipeline | None = None,
    detection: DetectionConfig | None = None,
) -> ApiContext:
    """Wire the services one app uses."""
    keys = ApiKeyService(storage)
    limiter = (
        TokenBucketLimiter(
            settings.rate_limit_per_second, settings.rate_limit_burst,
            settings.rate_limit_max_keys,
        )
        if settings.rate_limit_enabled
        else None
    )  # fmt: skip
    pipeline = pipeline or IngestionPipeline(None, MetricValidator(), storage)
    return ApiContext(
        settings=settings,
        storage=storage,
        engine=engine,
        authenticator=Authenticator(keys, settings),
        limiter=limiter,
        keys=keys,
        ingest=IngestService(pipeline, settings),
        metrics=MetricQueryService(storage, engine, settings, detection),
        anomalies=AnomalyService(storage, engine),
        health=HealthService(storage, settings.score_cache_seconds),
    )
