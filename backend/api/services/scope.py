"""Tenant scoping shared by the services: unknown and foreign ids look the same (404)."""

from __future__ import annotations

from backend.api.params import SeriesFilter
from backend.errors import NotFoundError
from backend.storage.interface import StorageBackend

__all__ = ["require_known"]


def require_known(storage: StorageBackend, tenant_id: str, query: SeriesFilter) -> None:
    """Raise :class:`NotFoundError` when a filter names a cluster, node or metric the tenant
    has no series for, so another tenant's ids reveal nothing (not even that they exist)."""
    if query.is_empty:
        return
    keys = storage.list_series(tenant_id, query.cluster_id, query.node_id, query.metric_name)
    if not keys:
        raise NotFoundError(f"no series matching {_describe(query)}")


def _describe(query: SeriesFilter) -> str:
    parts = [
        f"{name}={value!r}"
        for name, value in (
            ("cluster_id", query.cluster_id),
            ("node_id", query.node_id),
            ("metric_name", query.metric_name),
        )
        if value is not None
    ]
    return ", ".join(parts)
