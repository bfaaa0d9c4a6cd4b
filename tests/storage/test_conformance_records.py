"""Storage conformance, everything but points: anomaly results, aggregated scores, detector
state, API keys and statistics. Every backend in ``conftest.BACKENDS`` must pass."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backend.analytics.types import (
    AggregatedAnomalyScore,
    AnomalyResult,
    MetricSeries,
    ScoreContribution,
    SeriesKey,
)
from backend.errors import TenantIsolationError, ValidationError
from backend.storage import ApiKeyRecord, StorageBackend

T0 = datetime(2024, 3, 1, 12, 0)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def result(
    start: int = 0,
    end: int = 10,
    score: float = 0.9,
    tenant: str = "t1",
    node: str = "n1",
    metric: str = "cpu",
    cluster: str = "c1",
    **kwargs: object,
) -> AnomalyResult:
    return AnomalyResult(
        tenant,
        cluster,
        node,
        metric,
        at(start),
        at(end),
        score,
        "spike",
        **kwargs,  # type: ignore[arg-type]
    )


def score(
    minute: int = 0,
    value: float = 0.7,
    cluster: str | None = "c1",
    node: str | None = None,
    tenant: str = "t1",
    **kwargs: object,
) -> AggregatedAnomalyScore:
    return AggregatedAnomalyScore(
        tenant,
        value,
        cluster,
        node,
        timestamp=at(minute).replace(tzinfo=UTC),
        **kwargs,  # type: ignore[arg-type]
    )


def windows(rows: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(row["window_start"], row["window_end"]) for row in rows]


# --- anomaly results -----------------------------------------------------------------------
def test_query_anomalies_round_trip_every_field(storage: StorageBackend) -> None:
    stored = result(
        magnitude=0.4,
        explanation="cpu 3.2 sigma above baseline",
        anomaly_kind="dip",
        engine_metadata={"engine": "default", "z": 3.2},
        timestamp_detected=at(11),
    )
    assert storage.store_anomaly_results("t1", [stored]) == 1
    (row,) = storage.query_anomalies("t1")
    assert isinstance(row["id"], int)
    assert {k: v for k, v in row.items() if k != "id"} == vars(stored)


def test_store_anomaly_results_upsert_keeps_id(storage: StorageBackend) -> None:
    storage.store_anomaly_results("t1", [result(score=0.6), result(20, 30)])
    first = storage.query_anomalies("t1")
    storage.store_anomaly_results("t1", [result(score=0.95, explanation="again")])
    second = storage.query_anomalies("t1")
    assert [r["id"] for r in second] == [r["id"] for r in first]
    assert second[0]["anomaly_score"] == 0.95
    assert second[0]["explanation"] == "again"
    assert storage.get_stats()["total_anomalies"] == 2


def test_query_anomalies_window_overlap_inclusive(storage: StorageBackend) -> None:
    storage.store_anomaly_results(
        "t1", [result(0, 10), result(10, 20), result(25, 40), result(41, 50)]
    )
    rows = storage.query_anomalies("t1", start_time=at(20), end_time=at(40))
    assert windows(rows) == [(at(10), at(20)), (at(25), at(40))]


def test_query_anomalies_open_bounds(storage: StorageBackend) -> None:
    storage.store_anomaly_results("t1", [result(0, 10), result(30, 40)])
    assert windows(storage.query_anomalies("t1", start_time=at(11))) == [(at(30), at(40))]
    assert windows(storage.query_anomalies("t1", end_time=at(29))) == [(at(0), at(10))]


def test_query_anomalies_min_score_default_and_explicit(storage: StorageBackend) -> None:
    storage.store_anomaly_results(
        "t1", [result(0, 1, score=0.49), result(2, 3, score=0.5), result(4, 5, score=0.8)]
    )
    assert [r["anomaly_score"] for r in storage.query_anomalies("t1")] == [0.5, 0.8]
    assert len(storage.query_anomalies("t1", min_score=0.0)) == 3
    assert len(storage.query_anomalies("t1", min_score=0.8)) == 1


def test_query_anomalies_filters(storage: StorageBackend) -> None:
    storage.store_anomaly_results(
        "t1",
        [result(node="n1"), result(node="n2"), result(metric="mem"), result(cluster="c2")],
    )
    assert len(storage.query_anomalies("t1", cluster_id="c1")) == 3
    assert len(storage.query_anomalies("t1", node_id="n2")) == 1
    assert len(storage.query_anomalies("t1", cluster_id="c1", metric_name="mem")) == 1


def test_query_anomalies_order_limit_newest_first(storage: StorageBackend) -> None:
    storage.store_anomaly_results("t1", [result(30, 31), result(10, 11), result(20, 21)])
    storage.store_anomaly_results("t1", [result(10, 12)])
    rows = storage.query_anomalies("t1")
    assert windows(rows) == [(at(10), at(11)), (at(10), at(12)), (at(20), at(21)), (at(30), at(31))]
    newest = storage.query_anomalies("t1", newest_first=True, limit=3)
    assert [r["id"] for r in newest] == [r["id"] for r in reversed(rows)][:3]
    assert storage.query_anomalies("t1", limit=0) == []


def test_query_anomalies_ids_increase_in_insertion_order(storage: StorageBackend) -> None:
    storage.store_anomaly_results("t1", [result(0, 1)])
    storage.store_anomaly_results("t1", [result(0, 2)])
    first, second = storage.query_anomalies("t1")
    assert second["id"] > first["id"]


def test_query_anomalies_other_tenant_invisible(storage: StorageBackend) -> None:
    storage.store_anomaly_results("t2", [result(tenant="t2")])
    assert storage.query_anomalies("t1") == []
    assert len(storage.query_anomalies("t2")) == 1


def test_query_anomalies_aware_bounds_echo_aware(storage: StorageBackend) -> None:
    storage.store_anomaly_results("t1", [result()])
    (row,) = storage.query_anomalies("t1", start_time=at(0).replace(tzinfo=UTC))
    assert row["window_start"] == at(0).replace(tzinfo=UTC)
    (naive,) = storage.query_anomalies("t1")
    assert naive["window_start"].tzinfo is None


def test_store_anomaly_results_other_tenant_rejected(storage: StorageBackend) -> None:
    with pytest.raises(TenantIsolationError):
        storage.store_anomaly_results("t1", [result(), result(tenant="t2")])
    assert storage.get_stats()["total_anomalies"] == 0


@pytest.mark.parametrize("bad", [["not a result"], "abc", None])
def test_store_anomaly_results_non_results_rejected(storage: StorageBackend, bad: object) -> None:
    with pytest.raises(ValidationError):
        storage.store_anomaly_results("t1", bad)  # type: ignore[arg-type]


def test_store_anomaly_result_single_form_checks_ids(storage: StorageBackend) -> None:
    storage.store_anomaly_result("t1", "c1", "n1", "cpu", result())
    with pytest.raises(ValidationError):
        storage.store_anomaly_result("t1", "c1", "n2", "cpu", result())
    assert len(storage.query_anomalies("t1")) == 1


def test_replace_anomaly_results_swaps_the_shorter_for_the_longer(
    storage: StorageBackend,
) -> None:
    storage.store_anomaly_results("t1", [result(0, 4), result(0, 4, metric="mem"), result(20, 30)])
    written = storage.replace_anomaly_results("t1", [result(0, 4)], [result(0, 9, score=0.97)])
    assert written == 1
    rows = storage.query_anomalies("t1", metric_name="cpu")
    assert windows(rows) == [(at(0), at(9)), (at(20), at(30))]
    assert rows[0]["anomaly_score"] == 0.97
    # the same window of another metric is another anomaly: untouched
    assert windows(storage.query_anomalies("t1", metric_name="mem")) == [(at(0), at(4))]
    assert storage.get_stats()["total_anomalies"] == 3


def test_replace_anomaly_results_a_grown_result_keeps_its_id(storage: StorageBackend) -> None:
    storage.store_anomaly_results("t1", [result(0, 4), result(5, 7), result(20, 30)])
    ids = {(r["window_start"], r["window_end"]): r["id"] for r in storage.query_anomalies("t1")}
    # one anomaly reported in two parts, then told as one: it keeps the first part's id
    storage.replace_anomaly_results(
        "t1", [result(0, 4), result(5, 7)], [result(0, 9, explanation="told again")]
    )
    rows = storage.query_anomalies("t1")
    assert [(r["window_start"], r["window_end"], r["id"]) for r in rows] == [
        (at(0), at(9), ids[(at(0), at(4))]),
        (at(20), at(30), ids[(at(20), at(30))]),
    ]
    assert rows[0]["explanation"] == "told again"
    # told again over the same window: still the same result
    storage.replace_anomaly_results("t1", [result(0, 9)], [result(0, 9, explanation="again")])
    (again,) = storage.query_anomalies("t1", end_time=at(10))
    assert again["id"] == ids[(at(0), at(4))] and again["explanation"] == "again"
    assert storage.get_stats()["total_anomalies"] == 2


def test_replace_anomaly_results_ignores_what_is_not_stored(storage: StorageBackend) -> None:
    storage.store_anomaly_results("t1", [result(0, 4)])
    assert storage.replace_anomaly_results("t1", [result(5, 6)], [result(7, 8)]) == 1
    assert windows(storage.query_anomalies("t1")) == [(at(0), at(4)), (at(7), at(8))]
    assert storage.replace_anomaly_results("t1", [result(0, 4)], []) == 0
    assert windows(storage.query_anomalies("t1")) == [(at(7), at(8))]


def test_replace_anomaly_results_all_or_none(storage: StorageBackend) -> None:
    storage.store_anomaly_results("t1", [result(0, 4)])
    with pytest.raises(TenantIsolationError):
        storage.replace_anomaly_results("t1", [result(0, 4)], [result(0, 9), result(tenant="t2")])
    with pytest.raises(TenantIsolationError):  # nor may a tenant remove another's results
        storage.replace_anomaly_results("t1", [result(0, 4, tenant="t2")], [result(0, 9)])
    assert windows(storage.query_anomalies("t1")) == [(at(0), at(4))]


@pytest.mark.parametrize(("field", "value"), [("limit", -1), ("min_score", "high")])
def test_query_anomalies_bad_arguments_rejected(
    storage: StorageBackend, field: str, value: object
) -> None:
    with pytest.raises(ValidationError, match=field):
        storage.query_anomalies("t1", **{field: value})  # type: ignore[arg-type]


# --- aggregated scores ---------------------------------------------------------------------
def test_aggregated_scores_round_trip_with_contributors(storage: StorageBackend) -> None:
    original = score(
        node="n1",
        aggregation_strategy="weighted",
        num_metrics_analyzed=3,
        num_anomalies_detected=1,
        contributors=(
            ScoreContribution("cpu", 0.9, 2.0, 0.75),
            ScoreContribution("mem", 0.3, 1.0, 0.25),
        ),
    )
    assert storage.store_aggregated_scores([original]) == 1
    (back,) = storage.query_aggregated_scores("t1", start_time=at(-1).replace(tzinfo=UTC))
    assert back == original
    assert back.top_contributors(1)[0].component == "cpu"


def test_aggregated_scores_levels_and_cluster_filter(storage: StorageBackend) -> None:
    storage.store_aggregated_scores(
        [score(node="n1"), score(), score(cluster="c2"), score(cluster=None)]
    )
    assert [s.node_id for s in storage.query_aggregated_scores("t1", level="node")] == ["n1"]
    assert {s.cluster_id for s in storage.query_aggregated_scores("t1", level="cluster")} == {
        "c1",
        "c2",
    }
    assert len(storage.query_aggregated_scores("t1", level="tenant")) == 1
    assert len(storage.query_aggregated_scores("t1", cluster_id="c1")) == 2


def test_aggregated_scores_time_bounds_and_order(storage: StorageBackend) -> None:
    storage.store_aggregated_scores([score(20), score(0), score(10), score(30)])
    found = storage.query_aggregated_scores("t1", start_time=at(10), end_time=at(20))
    assert [s.timestamp for s in found] == [at(10), at(20)]


def test_aggregated_scores_latest_only_per_entity(storage: StorageBackend) -> None:
    storage.store_aggregated_scores(
        [
            score(0, 0.1),
            score(5, 0.2),
            score(1, 0.3, node="n1"),
            score(3, 0.4, cluster="c2"),
        ]
    )
    latest = storage.query_aggregated_scores("t1", latest_only=True)
    assert [(s.cluster_id, s.node_id, s.aggregate_score) for s in latest] == [
        ("c1", "n1", 0.3),
        ("c2", None, 0.4),
        ("c1", None, 0.2),
    ]


def test_aggregated_scores_same_identity_upserted(storage: StorageBackend) -> None:
    storage.store_aggregated_scores([score(0, 0.1)])
    storage.store_aggregated_scores([score(0, 0.6)])
    (only,) = storage.query_aggregated_scores("t1")
    assert only.aggregate_score == 0.6
    assert storage.get_stats()["total_aggregated_scores"] == 1


def test_aggregated_scores_other_tenant_invisible(storage: StorageBackend) -> None:
    storage.store_aggregated_scores([score(tenant="t2")])
    assert storage.query_aggregated_scores("t1") == []


def test_aggregated_scores_bad_input_rejected(storage: StorageBackend) -> None:
    with pytest.raises(ValidationError, match="scores"):
        storage.store_aggregated_scores([score(), "nope"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="level"):
        storage.query_aggregated_scores("t1", level="galaxy")
    assert storage.get_stats()["total_aggregated_scores"] == 0


# --- detector state ------------------------------------------------------------------------
def test_detector_state_round_trip_and_replace(storage: StorageBackend) -> None:
    key = SeriesKey("t1", "c1", "n1", "cpu")
    assert storage.load_detector_state(key, "default") is None
    storage.save_detector_state(key, "default", b"\x00state-1")
    storage.save_detector_state(key, "default", b"\x00state-2")
    storage.save_detector_state(key, "merlion", b"other")
    assert storage.load_detector_state(key, "default") == b"\x00state-2"
    assert storage.load_detector_state(SeriesKey("t2", "c1", "n1", "cpu"), "default") is None


def test_detector_states_saved_together(storage: StorageBackend) -> None:
    keys = [SeriesKey("t1", "c1", f"n{i}", "cpu") for i in range(3)]
    storage.save_detector_state(keys[0], "default", b"old")
    storage.save_detector_states("default", {key: f"s{i}".encode() for i, key in enumerate(keys)})
    assert [storage.load_detector_state(key, "default") for key in keys] == [b"s0", b"s1", b"s2"]
    assert storage.load_detector_state(keys[0], "merlion") is None
    storage.save_detector_states("default", {})  # nothing to save is no error


def test_detector_states_all_or_none(storage: StorageBackend) -> None:
    good, bad = SeriesKey("t1", "c1", "n1", "cpu"), SeriesKey("t1", "c1", "n2", "cpu")
    with pytest.raises(ValidationError, match="state"):
        storage.save_detector_states("default", {good: b"fine", bad: "text"})  # type: ignore[dict-item]
    assert storage.load_detector_state(good, "default") is None


def test_detector_states_read_together(storage: StorageBackend) -> None:
    keys = [SeriesKey("t1", "c1", f"n{i}", "cpu") for i in range(1203)]  # several queries
    storage.save_detector_states("default", {k: k.node_id.encode() for k in keys[::2]})
    storage.save_detector_state(keys[1], "merlion", b"another engine's")
    storage.save_detector_state(SeriesKey("t2", "c1", "n0", "cpu"), "default", b"other tenant")
    found = storage.load_detector_states("default", keys)
    assert found == {k: k.node_id.encode() for k in keys[::2]}
    assert storage.load_detector_states("default", []) == {}


def test_detector_state_non_bytes_rejected(storage: StorageBackend) -> None:
    with pytest.raises(ValidationError, match="state"):
        storage.save_detector_state(SeriesKey("t1", "c1", "n1", "cpu"), "e", "text")  # type: ignore[arg-type]


# --- API keys ------------------------------------------------------------------------------
def key_record(key_id: str = "k1", tenant: str = "t1", minute: int = 0) -> ApiKeyRecord:
    created = at(minute).replace(tzinfo=UTC)
    return ApiKeyRecord(key_id, tenant, "admin", f"hash-{key_id}", created, label="ci")


def test_api_keys_save_find_list(storage: StorageBackend) -> None:
    records = [key_record("k2", minute=5), key_record("k1"), key_record("k3", tenant="t2")]
    for record in records:
        storage.save_api_key(record)
    assert storage.find_api_key("hash-k1") == records[1]
    assert storage.find_api_key("missing") is None
    assert storage.list_api_keys("t1") == [records[1], records[0]]


def test_api_keys_find_by_id_and_list_all_tenants(storage: StorageBackend) -> None:
    records = [
        key_record("k2", minute=5),
        key_record("k1"),
        key_record("k3", tenant="t2", minute=9),
    ]
    for record in records:
        storage.save_api_key(record)
    assert storage.find_api_key_by_id("k3") == records[2]
    assert storage.find_api_key_by_id("nope") is None
    assert storage.list_api_keys(None) == [records[1], records[0], records[2]]


def test_api_keys_revoke_only_own_tenant(storage: StorageBackend) -> None:
    storage.save_api_key(key_record("k1"))
    assert storage.revoke_api_key("t2", "k1") is False
    assert storage.find_api_key("hash-k1").is_active  # type: ignore[union-attr]
    assert storage.revoke_api_key("t1", "k1") is True
    revoked = storage.find_api_key("hash-k1")
    assert revoked is not None and not revoked.is_active
    assert revoked.revoked_at is not None and revoked.revoked_at >= revoked.created_at
    assert storage.revoke_api_key("t1", "missing") is False


def test_api_keys_duplicates_rejected(storage: StorageBackend) -> None:
    storage.save_api_key(key_record("k1"))
    with pytest.raises(ValidationError, match="key_id"):
        storage.save_api_key(replace(key_record("k1"), key_hash="fresh"))
    with pytest.raises(ValidationError, match="key_hash"):
        storage.save_api_key(replace(key_record("k9"), key_hash="hash-k1"))
    assert len(storage.list_api_keys("t1")) == 1


# --- statistics ----------------------------------------------------------------------------
def test_get_stats_counts_everything(storage: StorageBackend) -> None:
    storage.store_metrics(
        [
            MetricSeries("t1", "c1", "n1", "cpu", [at(0), at(1)], [1, 2]),
            MetricSeries("t2", "c1", "n1", "cpu", [at(0)], [1]),
        ]
    )
    storage.store_anomaly_results("t3", [result(tenant="t3")])
    storage.store_aggregated_scores([score(), score(1)])
    assert storage.get_stats() == {
        "total_tenants": 3,
        "total_metrics": 2,
        "total_points": 3,
        "total_anomalies": 1,
        "total_aggregated_scores": 2,
    }
