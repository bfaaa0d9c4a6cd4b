"""``GET /metrics/scores`` says when a young series leaves the engine's learning period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from backend.analytics.types import MetricSeries, SeriesKey
from backend.detection.streaming.params import DetectorParams

START = datetime(2024, 3, 1, tzinfo=UTC)
PARAMS = DetectorParams()
FIRST_HEARD = timedelta(minutes=PARAMS.probe_points + 60 * PARAMS.warmup_hours)


def _store(storage: Any, node: str, hours: float, every_minutes: int = 1) -> None:
    n = int(hours * 60 / every_minutes)
    step_ns = every_minutes * 60 * 10**9
    ts = int(START.timestamp()) * 10**9 + np.arange(n, dtype=np.int64) * step_ns
    values = 40 + np.random.default_rng(1).normal(0, 1, n)
    key = SeriesKey("acme", "eu-1", node, "cpu_usage")
    storage.store_metrics([MetricSeries.from_arrays(key, ts, values)])


def _scores(client: Any, auth: Any, node: str, **extra: str) -> dict[str, Any]:
    params = {"cluster_id": "eu-1", "node_id": node, "metric_name": "cpu_usage", **extra}
    response = client.get("/metrics/scores", params=params, headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_series_younger_than_the_period_says_when_it_will_be_heard(
    client: Any, auth: Any, storage: Any
) -> None:
    _store(storage, "young", hours=4)
    body = _scores(client, auth, "young")
    assert max(body["scores"]) == 0.0
    assert _at(body["learning_until"]) == START + FIRST_HEARD


def test_a_series_that_left_the_period_in_the_range_says_where(
    client: Any, auth: Any, storage: Any
) -> None:
    _store(storage, "teen", hours=16)
    body = _scores(client, auth, "teen")
    until = _at(body["learning_until"])
    assert until == START + FIRST_HEARD
    heard = [i for i, t in enumerate(body["timestamps"]) if _at(t) >= until]
    assert heard and body["scores"][heard[0] - 1] == 0.0


def test_a_series_heard_before_the_range_mentions_no_learning(
    client: Any, auth: Any, storage: Any
) -> None:
    _store(storage, "grown", hours=72, every_minutes=5)
    assert _scores(client, auth, "grown")["learning_until"] is None
    # nor does a short range late in its life, scored with the history before it
    late = {"start": "2024-03-03T12:00:00Z", "end": "2024-03-03T13:00:00Z"}
    assert _scores(client, auth, "grown", **late)["learning_until"] is None


@pytest.mark.parametrize("every_minutes", [1, 5])
def test_the_period_follows_the_sampling(
    client: Any, auth: Any, storage: Any, every_minutes: int
) -> None:
    _store(storage, f"n{every_minutes}", hours=2, every_minutes=every_minutes)
    body = _scores(client, auth, f"n{every_minutes}")
    points = max(PARAMS.warmup_points * every_minutes, 60 * PARAMS.warmup_hours)
    expected = START + timedelta(minutes=PARAMS.probe_points * every_minutes + points)
    assert _at(body["learning_until"]) == expected
