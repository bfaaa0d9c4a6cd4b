"""The HTTP API: FastAPI app, tenant-scoped auth, hardening, and the dashboard's data.

Build it with :func:`create_app` from settings, a storage backend and an engine; serve it with
``aboutcloud serve``. Every protected route depends on :func:`require_role`, which resolves the
caller's tenant from the credential.
"""

from backend.api.app import API_VERSION, create_app
from backend.api.auth import ApiKeyService, Authenticator, CreatedKey, Principal, Role
from backend.api.deps import require_role
from backend.api.problems import PROBLEM_TABLE, problem_for
from backend.api.ratelimit import TokenBucketLimiter
from backend.api.settings import ApiSettings

__all__ = [
    "API_VERSION",
    "PROBLEM_TABLE",
    "ApiKeyService",
    "ApiSettings",
    "Authenticator",
    "CreatedKey",
    "Principal",
    "Role",
    "TokenBucketLimiter",
    "create_app",
    "problem_for",
    "require_role",
]
