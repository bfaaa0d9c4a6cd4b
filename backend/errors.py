"""The one exception tree of AboutCloud.

Every error the platform raises on purpose derives from :class:`AboutCloudError`, carries data
(the offending field, value and reason) and never depends on a web framework. The API maps this
tree to HTTP statuses in one table; the CLI prints ``TypeName: message`` and exits non-zero.

::

    AboutCloudError
    ├── ValidationError (also ValueError)      bad input: names field, value and reason
    │   ├── SeriesValidationError               a whole series rejected (names the series)
    │   ├── TenantIsolationError                data for a tenant other than the caller's
    │   └── ConfigError                         bad configuration value
    ├── NotFoundError (also ValueError)         something asked for does not exist
    │   ├── SeriesNotFoundError
    │   └── EngineNotFoundError (also KeyError)
    ├── IngestionError                          a source or file could not be read
    │   └── CSVReplayError (also ValueError)
    ├── StorageError                            the storage backend failed
    │   └── StorageConfigError                  unusable database URL or backend
    ├── DetectionError                          an engine failed on valid input
    │   └── EngineUnavailableError              optional engine's extra is not installed
    ├── AuthenticationError                     no or invalid credential
    ├── PermissionDeniedError                   credential lacks the role
    ├── RateLimitedError                        too many requests (carries retry_after)
    └── PayloadTooLargeError                    request over a configured limit
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AboutCloudError",
    "AuthenticationError",
    "CSVReplayError",
    "ConfigError",
    "DetectionError",
    "EngineNotFoundError",
    "EngineUnavailableError",
    "IngestionError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitedError",
    "SeriesNotFoundError",
    "SeriesValidationError",
    "StorageConfigError",
    "StorageError",
    "TenantIsolationError",
    "ValidationError",
]


class AboutCloudError(Exception):
    """Root of every error AboutCloud raises on purpose."""


class ValidationError(AboutCloudError, ValueError):
    """Input rejected: says which field, which value and why.

    >>> str(ValidationError("anomaly_score", 1.5, "must be in [0, 1]"))
    'anomaly_score=1.5: must be in [0, 1]'
    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={_short_repr(value)}: {reason}")


class SeriesValidationError(ValidationError):
    """A whole series rejected; ``series`` names it as tenant/cluster/node/metric."""

    def __init__(self, series: str, field: str, value: Any, reason: str) -> None:
        self.series = series
        ValidationError.__init__(self, field, value, reason)
        self.args = (f"series {series}: {field}={_short_repr(value)}: {reason}",)

    def __str__(self) -> str:
        return str(self.args[0])


class TenantIsolationError(ValidationError):
    """Data addressed to a tenant other than the one the caller acts for."""

    def __init__(self, expected_tenant: str, actual_tenant: str) -> None:
        self.expected_tenant = expected_tenant
        self.actual_tenant = actual_tenant
        super().__init__("tenant_id", actual_tenant, f"expected tenant {expected_tenant!r}")


class ConfigError(ValidationError):
    """A configuration value is unusable."""


class NotFoundError(AboutCloudError, ValueError):
    """Something asked for does not exist (or belongs to another tenant, which looks the same)."""


class SeriesNotFoundError(NotFoundError):
    """No stored series for this tenant/cluster/node/metric (in the requested range)."""

    def __init__(self, tenant_id: str, cluster_id: str, node_id: str, metric_name: str) -> None:
        self.tenant_id = tenant_id
        self.cluster_id = cluster_id
        self.node_id = node_id
        self.metric_name = metric_name
        super().__init__(
            f"no series {metric_name!r} for tenant={tenant_id!r} cluster={cluster_id!r} "
            f"node={node_id!r}"
        )


class EngineNotFoundError(NotFoundError, KeyError):
    """No engine registered under this name."""

    def __init__(self, name: str, available: list[str]) -> None:
        self.name = name
        self.available = available
        NotFoundError.__init__(self, f"no engine named {name!r}; available: {', '.join(available)}")

    def __str__(self) -> str:
        return str(self.args[0])


class IngestionError(AboutCloudError):
    """A source, file or stream could not be read."""


class CSVReplayError(IngestionError, ValueError):
    """A recorded CSV file or scenario directory is unreadable or malformed."""


class StorageError(AboutCloudError):
    """The storage backend failed to read or write."""


class StorageConfigError(StorageError):
    """The configured database URL or backend cannot be used."""


class DetectionError(AboutCloudError):
    """An engine failed on input that passed validation."""


class EngineUnavailableError(DetectionError):
    """An optional engine's extra (e.g. ``aboutcloud[merlion]``) is not installed."""


class AuthenticationError(AboutCloudError):
    """No credential, or one that is unknown, revoked or expired."""


class PermissionDeniedError(AboutCloudError):
    """The credential is valid but its role does not allow this action."""


class RateLimitedError(AboutCloudError):
    """Too many requests for this credential; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"rate limit exceeded; retry after {retry_after:.0f} s")


class PayloadTooLargeError(AboutCloudError):
    """A request exceeds a configured size, series or point limit."""

    def __init__(self, limit_name: str, limit: int, actual: int) -> None:
        self.limit_name = limit_name
        self.limit = limit
        self.actual = actual
        super().__init__(f"{limit_name} is {actual}, above the limit of {limit}")


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
