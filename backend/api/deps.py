"""The one dependency that authenticates, authorises and rate-limits every protected route.

``require_role("viewer")`` resolves the bearer credential to a :class:`Principal`, checks the
role and takes a token from the caller's bucket. Handlers receive the principal and pass
``principal.tenant_id`` to services: the tenant always comes from the credential, never from
the request, and no handler repeats an ownership check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.analytics.engine import AnomalyDetectionEngine
from backend.api.auth import ApiKeyService, Authenticator, Principal, Role
from backend.api.ratelimit import TokenBucketLimiter
from backend.api.services.anomalies import AnomalyService
from backend.api.services.health import HealthService
from backend.api.services.ingest import IngestService
from backend.api.services.metrics import MetricQueryService
from backend.api.settings import ApiSettings
from backend.storage.interface import StorageBackend

__all__ = [
    "AdminPrincipal",
    "ApiContext",
    "Context",
    "ViewerPrincipal",
    "WriterPrincipal",
    "get_context",
    "require_role",
]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key (`ack_...`) or, when enabled, a JWT with `tenant` and `role` claims.",
)


@dataclass(frozen=True)
class ApiContext:
    """Everything a request may use, built once by ``create_app`` and kept on ``app.state``."""

    settings: ApiSettings
    storage: StorageBackend
    engine: AnomalyDetectionEngine
    authenticator: Authenticator
    limiter: TokenBucketLimiter | None
    keys: ApiKeyService
    ingest: IngestService
    metrics: MetricQueryService
    anomalies: AnomalyService
    health: HealthService


def get_context(request: Request) -> ApiContext:
    """The app's :class:`ApiContext`."""
    context: ApiContext = request.app.state.context
    return context


Context = Annotated[ApiContext, Depends(get_context)]
_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require_role(role: Role | str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers whose role includes ``role``.

    No or bad credential: 401; valid but insufficient role: 403; over the rate: 429.
    """
    required = Role.parse(role)

    async def dependency(request: Request, credentials: _Credentials) -> Principal:
        context = get_context(request)
        token = credentials.credentials if credentials is not None else None
        principal = context.authenticator.authenticate(token)
        request.state.principal = principal
        structlog.contextvars.bind_contextvars(tenant_id=principal.tenant_id)
        if context.limiter is not None:
            context.limiter.acquire(principal.key_id)
        return principal.require(required)

    dependency.__name__ = f"require_{required.value}"
    return dependency


ViewerPrincipal = Annotated[Principal, Depends(require_role(Role.VIEWER))]
WriterPrincipal = Annotated[Principal, Depends(require_role(Role.WRITER))]
AdminPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN))]
