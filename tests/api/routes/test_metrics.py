"""POST /metrics through the shared pipeline; GET /metrics, /metrics/series, /metrics/scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from backend.analytics.engine import AnomalyDetectionEngine, EngineRegistry
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.fleet_calibration import FleetCalibration
from backend.detection.runner import fleet_calibration_key, fleet_calibration_name

WRITER = ("acme", "writer")


def _series(node: str = "node-9", metric: str = "cpu_usage", n: int = 5, **fields: Any) -> dict:
    base = {
        "cluster_id": "eu-1", "node_id": node, "metric_name": metric,
        "timestamps": [1_704_067_200 + 60 * i for i in range(n)],
        "values": [10.0 + i for i in range(n)],
    }  # fmt: skip
    return {**base, **fields}


def test_post_metrics_stores_through_pipeline(client: Any, auth: Any, storage: Any) -> None:
    response = client.post("/metrics", json={"series": [_series(), _series("node-8")]},
                           headers=auth(*WRITER))  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted_series"], body["accepted_points"], body["rejected"]) == (2, 10, [])
    stored = storage.get_metric_series("acme", "eu-1", "node-9", "cpu_usage")
    assert stored.values == [10.0, 11.0, 12.0, 13.0, 14.0]


def test_post_metrics_partial_rejection_names_paths(client: Any, auth: Any, storage: Any) -> None:
    bad_bounds = _series("node-7", values=[1, 2, 300, 4, 5])
    bad_order = _series("node-6", timestamps=[0, 60, 60, 180, 240])
    bad_type = _series("node-5", values=[1, 2, "x", 4, 5])
    response = client.post(
        "/metrics", json={"series": [_series(), bad_bounds, bad_order, bad_type]},
        headers=auth(*WRITER),
    )  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert body["accepted_series"] == 1 and body["rejected_series"] == 3
    fields = {r["index"]: [e["field"] for e in r["errors"]] for r in body["rejected"]}
    assert fields == {
        1: ["series[1].values[2]"],
        2: ["series[2].timestamps[2]"],
        3: ["series[3].values[2]"],
    }
    assert all(e["reason"] for r in body["rejected"] for e in r["errors"])
    assert storage.list_series("acme", node_id="node-7") == []


def test_post_metrics_all_rejected_is_422(client: Any, auth: Any) -> None:
    response = client.post("/metrics", json={"series": [_series(values=[1, 2, 3, 4, 1e9])]},
                           headers=auth(*WRITER))  # fmt: skip
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "series[0].values[4]"


def test_post_metrics_atomic_rejects_whole_batch(client: Any, auth: Any, storage: Any) -> None:
    batch = {"series": [_series("node-4"), _series("node-3", values=[1, 2, 3, 4, -5])]}
    response = client.post("/metrics?atomic=true", json=batch, headers=auth(*WRITER))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["series[1].values[4]"]
    assert storage.list_series("acme", node_id="node-4") == []


def test_post_metrics_iso_timestamps_round_trip(client: Any, auth: Any) -> None:
    stamps = ["2024-03-01T00:00:00Z", "2024-03-01T01:01:00+01:00", "2024-03-01T00:02:00"]
    posted = client.post(
        "/metrics", json={"series": [_series(timestamps=stamps, values=[1, 2, 3])]},
        headers=auth(*WRITER),
    )  # fmt: skip
    assert posted.status_code == 200
    got = client.get("/metrics", params={"node_id": "node-9"}, headers=auth()).json()
    (series,) = got["series"]
    assert series["timestamps"] == [
        "2024-03-01T00:00:00Z",
        "2024-03-01T00:01:00Z",
        "2024-03-01T00:02:00Z",
    ]
    assert series["values"] == [1.0, 2.0, 3.0]


def test_post_metrics_other_tenant_in_body_is_403(client: Any, auth: Any, storage: Any) -> None:
    response = client.post("/metrics", json={"tenant_id": "globex", "series": [_series()]},
                           headers=auth(*WRITER))  # fmt: skip
    assert response.status_code == 403
    assert storage.list_series("globex") == []
    assert response.json()["type"] == "urn:aboutcloud:problem:tenant-mismatch"


def test_post_metrics_viewer_forbidden(client: Any, auth: Any) -> None:
    response = client.post("/metrics", json={"series": [_series()]}, headers=auth("acme"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("limits", "series_count"),
    [({"max_series_per_request": 2}, 3), ({"max_points_per_request": 9}, 2)],
)
def test_post_metrics_limits_413(
    make_client: Any, auth: Any, limits: dict[str, int], series_count: int
) -> None:
    client = make_client(**limits)
    batch = {"series": [_series(f"node-{i}") for i in range(series_count)]}
    response = client.post("/metrics", json=batch, headers=auth(*WRITER))
    assert response.status_code == 413


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"series": 3}', b'{"nope": []}'])
def test_post_metrics_malformed_body_422(client: Any, auth: Any, body: bytes) -> None:
    response = client.post("/metrics", content=body, headers=auth(*WRITER))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_post_metrics_gap_warning_reported(client: Any, auth: Any) -> None:
    stamps = [0, 60, 3600, 3660, 3720]
    response = client.post("/metrics", json={"series": [_series(timestamps=stamps)]},
                           headers=auth(*WRITER))  # fmt: skip
    assert response.status_code == 200
    assert response.json()["warnings"][0]["field"] == "series[0].timestamps[2]"


def test_get_metrics_range_inclusive(client: Any, auth: Any, world: Any) -> None:
    params = {"cluster_id": "eu-1", "node_id": "node-1", "metric_name": "cpu_usage",
              "start": "2024-01-01T00:10:00Z", "end": "2024-01-01T00:20:00Z"}  # fmt: skip
    (series,) = client.get("/metrics", params=params, headers=auth()).json()["series"]
    assert series["timestamps"][0] == "2024-01-01T00:10:00Z"
    assert series["timestamps"][-1] == "2024-01-01T00:20:00Z"
    assert len(series["values"]) == 11


def test_get_metrics_filters_by_node(client: Any, auth: Any, world: Any) -> None:
    got = client.get("/metrics", params={"cluster_id": "eu-1", "node_id": "node-2"},
                     headers=auth()).json()  # fmt: skip
    assert {(s["node_id"], s["metric_name"]) for s in got["series"]} == {
        ("node-2", "cpu_usage"),
        ("node-2", "memory_used"),
    }


def test_get_metrics_unknown_series_404(client: Any, auth: Any, world: Any) -> None:
    response = client.get("/metrics", params={"node_id": "node-404"}, headers=auth())
    assert response.status_code == 404


def test_get_metrics_too_many_series_413(make_client: Any, auth: Any, world: Any) -> None:
    client = make_client(max_series_per_response=3)
    assert client.get("/metrics", params={"cluster_id": "eu-1"}, headers=auth()).status_code == 413


def test_get_metrics_end_before_start_422(client: Any, auth: Any, world: Any) -> None:
    response = client.get("/metrics", params={"start": "2024-01-02", "end": "2024-01-01"},
                          headers=auth())  # fmt: skip
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "end"


def test_list_series_keys_sorted_and_scoped(client: Any, auth: Any, world: Any) -> None:
    body = client.get("/metrics/series", headers=auth("globex")).json()
    keys = [(s["cluster_id"], s["node_id"], s["metric_name"]) for s in body["series"]]
    assert keys == sorted(keys)
    assert {k[0] for k in keys} == {"gx-1"} and len(keys) == 6


@pytest.fixture
def engine() -> AnomalyDetectionEngine:
    """The world's series are four hours of one-minute points: the charts hear them after the
    warm-up's points, not the learning period's twelve hours (docs/detection.md, "Cold
    start")."""
    return EngineRegistry.get("default", {"warmup_hours": 0.0})


def test_scores_give_per_point_band(client: Any, auth: Any, world: Any) -> None:
    params = {"cluster_id": "eu-1", "node_id": "node-1", "metric_name": "cpu_usage"}
    body = client.get("/metrics/scores", params=params, headers=auth()).json()
    n = len(body["values"])
    assert n == 240
    assert len(body["scores"]) == n and len(body["lower"]) == n and len(body["upper"]) == n
    scores = np.array(body["scores"], dtype=float)
    assert np.nanargmax(scores) in range(195, 206)
    assert body["engine"] == "default"


def test_scores_give_the_usual_range_without_the_spike(client: Any, auth: Any, world: Any) -> None:
    params = {"cluster_id": "eu-1", "node_id": "node-1", "metric_name": "cpu_usage"}
    body = client.get("/metrics/scores", params=params, headers=auth()).json()
    lower = np.array(body["usual_lower"], dtype=float)
    upper = np.array(body["usual_upper"], dtype=float)
    values = np.array(body["values"], dtype=float)
    assert lower.shape == upper.shape == values.shape
    drawn = np.isfinite(lower) & np.isfinite(upper)
    assert drawn[80:].all()  # once 30 modelled residuals are known
    assert np.all(lower[drawn] <= upper[drawn])
    after = slice(210, None)  # after the spike to 97 at 200-202: it did not widen the range
    assert np.all(upper[after] < 70) and np.all(upper[after] - lower[after] < 15)
    assert values[200] > upper[200]
    inside = (values >= lower) & (values <= upper)
    calm = drawn.copy()
    calm[195:215] = False  # the spike and the forecast's way back from it
    assert inside[calm].mean() > 0.85  # a young series: its range has 30-200 residuals


def test_scores_carry_the_static_limit_and_its_breaches(
    client: Any, auth: Any, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart's scores agree with detection runs: a breach scores the critical level."""
    params = {"cluster_id": "eu-1", "node_id": "node-1", "metric_name": "cpu_usage"}
    before = client.get("/metrics/scores", params=params, headers=auth()).json()
    assert before["limit"] is None
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__METRIC_LIMITS", '{"cpu*": {"above": 48}}')
    body = client.get("/metrics/scores", params=params, headers=auth()).json()
    assert body["limit"] == {
        "above": 48.0,
        "below": None,
        "for_points": 1,
        "for_seconds": 0.0,
        "severity": "critical",
        "keep_firing_seconds": 0.0,
    }
    values, scores = np.array(body["values"]), np.array(body["scores"], dtype=float)
    old = np.array(before["scores"], dtype=float)
    over = values > 48
    assert over.any() and (~over).any()
    assert np.all(scores[over] >= 0.8)
    assert np.array_equal(scores[~over], old[~over], equal_nan=True)


def test_scores_carry_only_the_callers_tenant_limit(
    client: Any, auth: Any, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = '{"acme": {"metric_limits": {"cpu*": {"above": 48}}}}'
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__TENANTS", overrides)
    acme_key = world.series["acme"][0]
    other = next(t for t in world.series if t != "acme")
    other_key = world.series[other][0]
    for tenant, key, limited in (("acme", acme_key, True), (other, other_key, False)):
        params = {"cluster_id": key.cluster_id, "node_id": key.node_id, "metric_name": "cpu_usage"}
        body = client.get("/metrics/scores", params=params, headers=auth(tenant)).json()
        assert (body["limit"] is not None) is limited


def test_scores_unknown_series_404(client: Any, auth: Any, world: Any) -> None:
    params = {"cluster_id": "eu-1", "node_id": "node-1", "metric_name": "nope"}
    assert client.get("/metrics/scores", params=params, headers=auth()).status_code == 404


def test_scores_short_range_warmed_up_by_history(client: Any, auth: Any, world: Any) -> None:
    """A short range is scored with the history before it: same scores as the full chart."""
    key = {"cluster_id": "eu-1", "node_id": "node-1", "metric_name": "cpu_usage"}
    full = client.get("/metrics/scores", params=key, headers=auth()).json()
    short_range = {**key, "start": "2024-01-01T03:19:00Z", "end": "2024-01-01T03:23:00Z"}
    short = client.get("/metrics/scores", params=short_range, headers=auth()).json()
    assert short["timestamps"] == full["timestamps"][199:204]
    assert short["scores"] == pytest.approx(full["scores"][199:204])
    assert min(short["scores"][1:3]) > max(short["scores"][0], short["scores"][4])  # the spike


_CHART = {"cluster_id": "eu-1", "node_id": "node-1", "metric_name": "cpu_usage"}


def _chart_scores(client: Any, auth: Any) -> np.ndarray:
    return np.array(client.get("/metrics/scores", params=_CHART, headers=auth()).json()["scores"])


def _save_calibration(storage: Any, calibration: FleetCalibration) -> None:
    """Store ``calibration`` as a detection run would have left it for tenant acme."""
    name = fleet_calibration_name(DefaultAnomalyEngine())
    storage.save_detector_state(fleet_calibration_key("acme"), name, calibration.to_bytes())


def test_scores_read_with_the_tenants_fleet_calibration(
    client: Any, auth: Any, world: Any, storage: Any
) -> None:
    """After a detection run the chart's scores are mapped as the stored alarms were."""
    before = _chart_scores(client, auth)
    calibration = FleetCalibration()
    point_up = np.zeros(200_000)  # statistic 0: a calibrated one
    calibration.observe("cpu_usage", np.linspace(0.0, 0.9, 200_000), point_up)  # runs high
    calibration.observe("disk_io", np.zeros(200_000), point_up)
    _save_calibration(storage, calibration)
    after = _chart_scores(client, auth)
    assert after.max() < before.max()
    assert np.argmax(after) == np.argmax(before)  # the map keeps the order of scores


def test_scores_read_with_the_tenants_pooled_residual_tail(
    client: Any, auth: Any, world: Any, storage: Any
) -> None:
    """A tenant whose CPU residuals are light across its fleet: the spike reads rarer."""
    before = np.nan_to_num(_chart_scores(client, auth))
    calibration = FleetCalibration()
    z = np.random.default_rng(0).standard_normal(200_000)  # Gaussian residuals of 12 series
    calibration.observe_residuals("cpu_usage", z, np.zeros(z.size), series=12)
    _save_calibration(storage, calibration)
    after = np.nan_to_num(_chart_scores(client, auth))
    risen = after > before + 1e-9
    assert risen.any()  # some residual is rarer across the fleet than its own tail said
    assert (after >= before - 1e-12).all()  # and none is lowered
    assert risen.mean() < 0.2  # the quiet points keep their scores
