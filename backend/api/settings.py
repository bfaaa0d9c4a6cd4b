"""Typed settings of the HTTP API, read from ``ABOUTCLOUD_*`` environment variables.

Every default is a named constant so a reader sees the safe value without running anything,
and tests build :class:`ApiSettings` directly with overrides instead of touching the
environment. Nothing here is created at import time: the CLI or a test builds one and passes it
to :func:`backend.api.create_app`.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_POINTS_PER_REQUEST",
    "DEFAULT_MAX_SERIES_PER_REQUEST",
    "DEFAULT_RATE_LIMIT_BURST",
    "DEFAULT_RATE_LIMIT_PER_SECOND",
    "ApiSettings",
]

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_SERIES_PER_REQUEST = 10_000
DEFAULT_MAX_POINTS_PER_REQUEST = 2_000_000
DEFAULT_RATE_LIMIT_PER_SECOND = 20.0
DEFAULT_RATE_LIMIT_BURST = 100
DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000
DEFAULT_MAX_POINTS_PER_RESPONSE = 1_000_000
DEFAULT_MAX_SERIES_PER_RESPONSE = 100
DEFAULT_SCORES_WINDOW_HOURS = 24.0
DEFAULT_SCORE_CACHE_SECONDS = 2.0
_JWT_ALGORITHMS = ("HS256", "RS256")


class ApiSettings(BaseSettings):
    """Limits, credentials and switches of one API process.

    Attributes
    ----------
    database_url
        Where ``aboutcloud serve`` opens its storage (``None``: the embedded default).
    engine
        Engine ``aboutcloud serve`` scores chart points with (``None``: the detection
        configuration's ``engine``, built with its ``engine_config``).
    rate_limit_per_second, rate_limit_burst
        Token bucket per credential: steady rate and bucket size. ``rate_limit_enabled=False``
        turns the limiter off (benchmarks).
    max_body_bytes, max_series_per_request, max_points_per_request
        Request size limits; above them the API answers 413.
    score_cache_seconds
        How long ``/health`` and ``/nodes/top`` may reuse a tenant's latest aggregated scores
        (0 disables); new detection results show up at most this much later.
    cors_origins
        Browser origins allowed to call the API from another site; empty means CORS is off.
    jwt_enabled, jwt_algorithm, jwt_secret, jwt_public_key, jwt_audience, jwt_issuer
        Optional JWT bearer tokens (HS256 with ``jwt_secret`` or RS256 with ``jwt_public_key``)
        carrying ``tenant`` and ``role`` claims; ``exp`` is required.
    """

    model_config = SettingsConfigDict(env_prefix="ABOUTCLOUD_", extra="ignore")

    database_url: str | None = None
    engine: str | None = None

    rate_limit_enabled: bool = True
    rate_limit_per_second: float = Field(default=DEFAULT_RATE_LIMIT_PER_SECOND, gt=0)
    rate_limit_burst: int = Field(default=DEFAULT_RATE_LIMIT_BURST, ge=1)
    rate_limit_max_keys: int = Field(default=10_000, ge=1)

    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    max_series_per_request: int = Field(default=DEFAULT_MAX_SERIES_PER_REQUEST, ge=1)
    max_points_per_request: int = Field(default=DEFAULT_MAX_POINTS_PER_REQUEST, ge=1)
    max_series_per_response: int = Field(default=DEFAULT_MAX_SERIES_PER_RESPONSE, ge=1)
    max_points_per_response: int = Field(default=DEFAULT_MAX_POINTS_PER_RESPONSE, ge=1)
    default_page_limit: int = Field(default=DEFAULT_PAGE_LIMIT, ge=1, le=MAX_PAGE_LIMIT)
    scores_window_hours: float = Field(default=DEFAULT_SCORES_WINDOW_HOURS, gt=0)
    score_cache_seconds: float = Field(default=DEFAULT_SCORE_CACHE_SECONDS, ge=0)

    cors_origins: list[str] = Field(default_factory=list)

    jwt_enabled: bool = False
    jwt_algorithm: str = "HS256"
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_seconds: float = Field(default=0.0, ge=0)

    access_log: bool = True
    dashboard_enabled: bool = True
    dashboard_refresh_seconds: float = Field(default=15.0, gt=0)

    @field_validator("jwt_algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        if value not in _JWT_ALGORITHMS:
            raise ValueError(f"must be one of {', '.join(_JWT_ALGORITHMS)}")
        return value

    @model_validator(mode="after")
    def _jwt_key_present(self) -> ApiSettings:
        if not self.jwt_enabled:
            return self
        if self.jwt_algorithm == "HS256" and not self.jwt_secret:
            raise ValueError("jwt_enabled with HS256 needs jwt_secret")
        if self.jwt_algorithm == "RS256" and not self.jwt_public_key:
            raise ValueError("jwt_enabled with RS256 needs jwt_public_key")
        return self
