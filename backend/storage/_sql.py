"""WHERE clauses shared by the SQL backends (SQLite's ``?`` and psycopg's ``%s`` placeholders).

Every clause starts with the tenant predicate, so no query built here can cross tenants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.storage._checks import AnomalyQuery, TimeBounds

__all__ = ["LEVEL_WHERE", "anomaly_select", "anomaly_where", "score_where"]

LEVEL_WHERE = {
    "node": "node_id <> ''",
    "cluster": "cluster_id <> '' AND node_id = ''",
    "tenant": "cluster_id = ''",
}


def anomaly_where(
    mark: str,
    tenant_id: str,
    bounds: TimeBounds,
    min_score: float,
    filters: Mapping[str, str | None],
) -> tuple[str, list[Any]]:
    """Results of the tenant whose window overlaps ``bounds`` with score >= ``min_score``.

    >>> where, params = anomaly_where("?", "t1", TimeBounds(None, 5, False), 0.5, {"node_id": "n"})
    >>> where
    'tenant_id = ? AND anomaly_score >= ? AND window_start <= ? AND node_id = ?'
    >>> params
    ['t1', 0.5, 5, 'n']
    """
    where = [f"tenant_id = {mark}", f"anomaly_score >= {mark}"]
    params: list[Any] = [tenant_id, min_score]
    if bounds.start_ns is not None:
        where.append(f"window_end >= {mark}")
        params.append(bounds.start_ns)
    if bounds.end_ns is not None:
        where.append(f"window_start <= {mark}")
        params.append(bounds.end_ns)
    for column, value in filters.items():
        if value is not None:
            where.append(f"{column} = {mark}")
            params.append(value)
    return " AND ".join(where), params


def anomaly_select(mark: str, query: AnomalyQuery, columns: str) -> tuple[str, list[Any]]:
    """The whole anomaly-results query: filters, (window_start, id) order, optional limit."""
    where, params = anomaly_where(
        mark, query.tenant_id, query.bounds, query.min_score, query.filters
    )
    order = "DESC" if query.newest_first else "ASC"
    sql = (
        f"SELECT id, {columns} FROM anomaly_results "
        f"WHERE {where} ORDER BY window_start {order}, id {order}"
    )
    if query.limit is not None:
        sql += f" LIMIT {mark}"
        params.append(query.limit)
    return sql, params


def score_where(
    mark: str,
    tenant_id: str,
    level: str | None,
    cluster_id: str | None,
    bounds: TimeBounds,
) -> tuple[str, list[Any]]:
    """Aggregated scores of the tenant at ``level`` (node, cluster, tenant) within ``bounds``."""
    where = [f"tenant_id = {mark}"]
    params: list[Any] = [tenant_id]
    if level is not None:
        where.append(LEVEL_WHERE[level])
    if cluster_id is not None:
        where.append(f"cluster_id = {mark}")
        params.append(cluster_id)
    if bounds.start_ns is not None:
        where.append(f"timestamp >= {mark}")
        params.append(bounds.start_ns)
    if bounds.end_ns is not None:
        where.append(f"timestamp <= {mark}")
        params.append(bounds.end_ns)
    return " AND ".join(where), params
