"""Tenant isolation at ingestion."""

from __future__ import annotations

import pytest

from backend.analytics.types import MetricSeries
from backend.errors import TenantIsolationError
from backend.ingestion.tenant import TenantIsolationValidator


def make(tenant: str, node: str = "n1") -> MetricSeries:
    return MetricSeries(tenant, "c1", node, "cpu_usage", [0, 60], [1.0, 2.0])


def test_validate_tenant_isolation_all_own_is_valid() -> None:
    result = TenantIsolationValidator.validate_tenant_isolation(
        [make("acme"), make("acme")], "acme"
    )

    assert result.is_valid
    assert result.errors == []


def test_validate_tenant_isolation_names_each_foreign_series() -> None:
    batch = [make("acme"), make("globex", "n2"), make("initech", "n3")]

    result = TenantIsolationValidator.validate_tenant_isolation(batch, "acme")

    assert not result.is_valid
    assert [issue.series for issue in result.issues] == ["globex/c1/n2/cpu_usage",
                                                         "initech/c1/n3/cpu_usage"]  # fmt: skip
    assert all(issue.field == "tenant_id" for issue in result.issues)
    assert "'acme'" in result.errors[0]


def test_validate_tenant_isolation_usable_on_instance() -> None:
    result = TenantIsolationValidator().validate_tenant_isolation([make("globex")], "acme")

    assert not result.is_valid


def test_validate_tenant_isolation_empty_batch_is_valid() -> None:
    assert TenantIsolationValidator.validate_tenant_isolation([], "acme").is_valid


def test_ensure_tenant_raises_tenant_isolation_error() -> None:
    with pytest.raises(TenantIsolationError) as info:
        TenantIsolationValidator.ensure_tenant([make("acme"), make("globex")], "acme")

    assert (info.value.expected_tenant, info.value.actual_tenant) == ("acme", "globex")
