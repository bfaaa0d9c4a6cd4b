"""Records as flat rows of primitives, the one conversion every backend shares.

An anomaly result, aggregated score or API key becomes a tuple of strings, numbers and JSON
text (times as epoch ns) and comes back from it. Backends store these rows as they like; because
they all convert through here, they all return the same dicts and objects.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from backend.analytics._timeconv import from_epoch_ns, to_epoch_ns
from backend.analytics.types import AggregatedAnomalyScore, AnomalyResult, ScoreContribution
from backend.storage._checks import decode_json, encode_json
from backend.storage.interface import ApiKeyRecord

__all__ = [
    "ANOMALY_COLUMNS",
    "API_KEY_COLUMNS",
    "NO_ID",
    "SCORE_COLUMNS",
    "anomaly_dict",
    "anomaly_row",
    "api_key_from_row",
    "api_key_row",
    "latest_rows",
    "plan_replacement",
    "score_from_row",
    "score_row",
]

ANOMALY_COLUMNS = (
    "tenant_id",
    "cluster_id",
    "node_id",
    "metric_name",
    "window_start",
    "window_end",
    "anomaly_score",
    "anomaly_label",
    "magnitude",
    "explanation",
    "timestamp_detected",
    "engine_metadata",
    "anomaly_kind",
)
_ANOMALY_TIMES = frozenset({"window_start", "window_end", "timestamp_detected"})

SCORE_COLUMNS = (
    "tenant_id",
    "cluster_id",
    "node_id",
    "aggregation_strategy",
    "timestamp",
    "aggregate_score",
    "num_metrics_analyzed",
    "num_anomalies_detected",
    "contributors",
)
NO_ID = ""
"""Stored in place of a missing cluster or node id, so unique keys treat it as a value."""

API_KEY_COLUMNS = (
    "key_id",
    "tenant_id",
    "role",
    "key_hash",
    "created_at",
    "revoked_at",
    "label",
    "aware",
)


def anomaly_row(result: AnomalyResult) -> tuple[Any, ...]:
    """The result as primitives in :data:`ANOMALY_COLUMNS` order."""
    row = []
    for name in ANOMALY_COLUMNS:
        value = getattr(result, name)
        if name in _ANOMALY_TIMES:
            value = to_epoch_ns(value)
        elif name == "engine_metadata":
            value = encode_json("engine_metadata", value)
        row.append(value)
    return tuple(row)


Row = tuple[Any, ...]


def plan_replacement(
    gone: list[Row], rows: list[Row]
) -> tuple[list[tuple[Row, Row]], list[Row], list[Row]]:
    """How ``rows`` replace the stored results identified by ``gone`` (series, start, end):
    ``(updates, deletes, inserts)``. A row whose window covers gone windows of its series
    updates the earliest of them in place, so an anomaly that grows keeps its id (and its
    place in pages); the other gone results are deleted; the rest of the rows are upserted.
    """
    left = list(gone)
    updates: list[tuple[Row, Row]] = []
    inserts: list[Row] = []
    for row in rows:
        covered = [g for g in left if g[:4] == row[:4] and row[4] <= g[4] and g[5] <= row[5]]
        if covered:
            kept = min(covered, key=lambda g: g[4])
            left.remove(kept)
            updates.append((kept, row))
        else:
            inserts.append(row)
    return updates, left, inserts


def replace_rows(
    conn: Any,
    gone: list[Row],
    rows: list[Row],
    statements: tuple[str, str],
    delete_rows: Callable[[Any, list[Row]], None],
    upsert_rows: Callable[[Any, list[Row]], None],
) -> None:
    """Delete the ``gone`` identities and store ``rows`` on a DB-API connection whose
    ``execute`` returns a cursor; a row that covers a gone result takes its place (and id),
    see :func:`plan_replacement`. ``statements`` are the backend's SQL to update one result
    in place (new row, then old identity) and to delete one by its identity."""
    update_sql, delete_one_sql = statements
    updates, deletes, inserts = plan_replacement(gone, rows)
    delete_rows(conn, deletes)
    for old, row in updates:
        if row[:6] != old:
            conn.execute(delete_one_sql, row[:6])  # another result with the new window
        if conn.execute(update_sql, (*row, *old)).rowcount == 0:
            inserts.append(row)  # the result it replaces was not stored
    upsert_rows(conn, inserts)


def anomaly_dict(result_id: int, row: tuple[Any, ...], aware: bool) -> dict[str, Any]:
    """The query answer for one stored row: every result field plus ``id``."""
    out: dict[str, Any] = {"id": int(result_id)}
    for name, value in zip(ANOMALY_COLUMNS, row, strict=True):
        if name in _ANOMALY_TIMES:
            value = from_epoch_ns(value, aware)
        elif name == "engine_metadata":
            value = decode_json(value)
        out[name] = value
    return out


def score_row(score: AggregatedAnomalyScore) -> tuple[Any, ...]:
    """The score as primitives in :data:`SCORE_COLUMNS` order (missing ids as :data:`NO_ID`)."""
    contributors = [
        {"component": c.component, "score": c.score, "weight": c.weight, "share": c.share}
        for c in score.contributors
    ]
    return (
        score.tenant_id,
        score.cluster_id or NO_ID,
        score.node_id or NO_ID,
        score.aggregation_strategy,
        to_epoch_ns(score.timestamp),
        float(score.aggregate_score),
        int(score.num_metrics_analyzed),
        int(score.num_anomalies_detected),
        encode_json("contributors", contributors),
    )


def score_from_row(row: tuple[Any, ...], aware: bool) -> AggregatedAnomalyScore:
    """Inverse of :func:`score_row`, with the timestamp in the requested awareness."""
    tenant, cluster, node, strategy, ts_ns, value, n_metrics, n_anomalies, contributors = row
    return AggregatedAnomalyScore(
        tenant_id=tenant,
        aggregate_score=value,
        cluster_id=cluster or None,
        node_id=node or None,
        aggregation_strategy=strategy,
        num_metrics_analyzed=int(n_metrics),
        num_anomalies_detected=int(n_anomalies),
        timestamp=from_epoch_ns(ts_ns, aware),
        contributors=tuple(ScoreContribution(**c) for c in decode_json(contributors) or ()),
    )


def latest_rows(rows: list[tuple[int, tuple[Any, ...]]]) -> list[tuple[int, tuple[Any, ...]]]:
    """Of (id, score row) pairs, the newest per (cluster, node), ordered by (timestamp, id).

    >>> rows = [(1, ("t", "c", "", "max", 5)), (2, ("t", "c", "", "max", 9)),
    ...         (3, ("t", "d", "", "max", 7))]
    >>> [i for i, _ in latest_rows(rows)]
    [3, 2]
    """
    newest: dict[tuple[Any, Any], tuple[int, tuple[Any, ...]]] = {}
    for item in rows:
        entity = (item[1][1], item[1][2])
        best = newest.get(entity)
        if best is None or (item[1][4], item[0]) > (best[1][4], best[0]):
            newest[entity] = item
    return sorted(newest.values(), key=lambda item: (item[1][4], item[0]))


def api_key_row(record: ApiKeyRecord) -> tuple[Any, ...]:
    """The key record as primitives in :data:`API_KEY_COLUMNS` order."""
    return (
        record.key_id,
        record.tenant_id,
        record.role,
        record.key_hash,
        to_epoch_ns(record.created_at),
        None if record.revoked_at is None else to_epoch_ns(record.revoked_at),
        record.label,
        int(_aware(record.created_at)),
    )


def api_key_from_row(row: tuple[Any, ...]) -> ApiKeyRecord:
    """Inverse of :func:`api_key_row`: datetimes come back as aware as they went in."""
    key_id, tenant, role, key_hash, created_ns, revoked_ns, label, aware = row
    return ApiKeyRecord(
        key_id=key_id,
        tenant_id=tenant,
        role=role,
        key_hash=key_hash,
        created_at=from_epoch_ns(created_ns, bool(aware)),
        revoked_at=None if revoked_ns is None else from_epoch_ns(revoked_ns, bool(aware)),
        label=label,
    )


def _aware(value: datetime) -> bool:
    return getattr(value, "tzinfo", None) is not None
