"""The retention policy: how many whole UTC days each tier keeps, per tenant.

Horizons are whole days because backends store points as day chunks and partition by day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.analytics._timeconv import NS_PER_DAY, to_epoch_ns, utc_now
from backend.errors import ConfigError

__all__ = [
    "DAY_NS",
    "DEFAULT_FIVE_MINUTE_DAYS",
    "DEFAULT_HOURLY_DAYS",
    "DEFAULT_RAW_DAYS",
    "DEFAULT_RETENTION_INTERVAL_S",
    "Cutoffs",
    "RetentionPolicy",
    "RetentionSettings",
]

DEFAULT_RAW_DAYS = 30
DEFAULT_FIVE_MINUTE_DAYS = 180
DEFAULT_HOURLY_DAYS = 730
DEFAULT_RETENTION_INTERVAL_S = 3600.0
DAY_NS = NS_PER_DAY


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each tier is kept, in whole days.

    >>> policy = RetentionPolicy(raw_days=30, tenant_raw_days={"acme": 7})
    >>> policy.raw_days_for("acme"), policy.raw_days_for("other")
    (7, 30)
    """

    raw_days: int = DEFAULT_RAW_DAYS
    five_minute_days: int = DEFAULT_FIVE_MINUTE_DAYS
    hourly_days: int = DEFAULT_HOURLY_DAYS
    tenant_raw_days: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("raw_days", "five_minute_days", "hourly_days"):
            _check_days(name, getattr(self, name))
        for tenant, days in self.tenant_raw_days.items():
            _check_days(f"tenant_raw_days[{tenant!r}]", days)
        object.__setattr__(self, "tenant_raw_days", MappingProxyType(dict(self.tenant_raw_days)))

    def raw_days_for(self, tenant_id: str) -> int:
        """Days of raw points kept for ``tenant_id`` (its override, else the default)."""
        return self.tenant_raw_days.get(tenant_id, self.raw_days)

    def cutoffs(self, now: object = None) -> Cutoffs:
        """First days still kept per tier, counted back from ``now`` (default: the clock)."""
        today = to_epoch_ns(utc_now() if now is None else now) // DAY_NS
        return Cutoffs(
            raw_day=today - self.raw_days,
            tenant_raw_day=MappingProxyType(
                {t: today - d for t, d in self.tenant_raw_days.items()}
            ),
            five_minute_day=today - self.five_minute_days,
            hourly_day=today - self.hourly_days,
        )

    @property
    def longest_raw_days(self) -> int:
        """The longest raw horizon of any tenant (partitions younger than it are kept)."""
        return max([self.raw_days, *self.tenant_raw_days.values()])


def _check_days(name: str, days: object) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ConfigError(name, days, "must be a whole number of days >= 1")


@dataclass(frozen=True)
class Cutoffs:
    """First UTC day (days since 1970-01-01) each tier keeps; everything before it expires."""

    raw_day: int
    tenant_raw_day: Mapping[str, int]
    five_minute_day: int
    hourly_day: int

    def raw_for(self, tenant_id: str) -> int:
        """First day of raw points kept for the tenant."""
        return self.tenant_raw_day.get(tenant_id, self.raw_day)

    def five_minute_for(self, tenant_id: str) -> int:
        """First day of 5-minute roll-ups kept (never later than the raw horizon)."""
        return min(self.five_minute_day, self.raw_for(tenant_id))

    @property
    def earliest_raw_day(self) -> int:
        """The oldest raw horizon of any tenant: days before it hold no raw points once done."""
        return min([self.raw_day, *self.tenant_raw_day.values()])

    @property
    def latest_raw_day(self) -> int:
        """The youngest raw horizon: no tenant rolls up days from it on."""
        return max([self.raw_day, *self.tenant_raw_day.values()])


class RetentionSettings(BaseSettings):
    """The policy from ``ABOUTCLOUD_RETENTION_*`` environment variables.

    ``ABOUTCLOUD_RETENTION_TENANT_RAW_DAYS`` is JSON, e.g. ``{"acme": 7}``.
    """

    model_config = SettingsConfigDict(env_prefix="ABOUTCLOUD_RETENTION_", extra="ignore")

    raw_days: int = Field(default=DEFAULT_RAW_DAYS, ge=1)
    five_minute_days: int = Field(default=DEFAULT_FIVE_MINUTE_DAYS, ge=1)
    hourly_days: int = Field(default=DEFAULT_HOURLY_DAYS, ge=1)
    tenant_raw_days: dict[str, int] = Field(default_factory=dict)
    interval_seconds: float = Field(default=DEFAULT_RETENTION_INTERVAL_S, gt=0)

    def policy(self) -> RetentionPolicy:
        """The frozen policy these settings describe."""
        return RetentionPolicy(
            self.raw_days, self.five_minute_days, self.hourly_days, self.tenant_raw_days
        )
