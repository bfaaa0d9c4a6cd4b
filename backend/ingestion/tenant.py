"""Tenant isolation at ingestion: a batch may only carry series of the tenant that sent it.

The API resolves the caller's tenant once from its credential; ingestion then checks that every
series in the batch belongs to that tenant, so data can never be written under another tenant's
name by mistake or on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.analytics.types import MetricSeries
from backend.errors import TenantIsolationError
from backend.ingestion.results import ValidationIssue, ValidationResult

__all__ = ["TenantIsolationValidator"]


class TenantIsolationValidator:
    """Checks that series belong to the expected tenant (stateless; use the class methods).

    >>> from backend.analytics.types import MetricSeries
    >>> mine = MetricSeries("acme", "c1", "n1", "cpu_usage", [0], [1.0])
    >>> theirs = MetricSeries("globex", "c1", "n1", "cpu_usage", [0], [1.0])
    >>> result = TenantIsolationValidator.validate_tenant_isolation([mine, theirs], "acme")
    >>> result.is_valid, len(result.errors)
    (False, 1)
    """

    @classmethod
    def validate_tenant_isolation(
        cls, series_list: Iterable[MetricSeries], expected_tenant_id: str
    ) -> ValidationResult:
        """One error per series whose ``tenant_id`` is not ``expected_tenant_id``."""
        issues = [
            issue
            for series in series_list
            if (issue := cls.check_tenant(str(series.key), series.tenant_id, expected_tenant_id))
        ]
        return ValidationResult.from_issues(issues)

    @staticmethod
    def check_tenant(
        series_name: str, tenant_id: object, expected_tenant_id: str
    ) -> ValidationIssue | None:
        """The isolation issue for one series, or ``None`` when it belongs to the tenant."""
        if tenant_id == expected_tenant_id:
            return None
        return ValidationIssue(
            series_name,
            "tenant_id",
            tenant_id,
            f"belongs to another tenant than {expected_tenant_id!r} (tenant isolation)",
        )

    @classmethod
    def ensure_tenant(cls, series_list: Iterable[MetricSeries], expected_tenant_id: str) -> None:
        """Raise :class:`~backend.errors.TenantIsolationError` on the first foreign series."""
        for series in series_list:
            if series.tenant_id != expected_tenant_id:
                raise TenantIsolationError(expected_tenant_id, series.tenant_id)
