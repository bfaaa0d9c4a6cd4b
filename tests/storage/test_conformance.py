"""Storage conformance, metric points: every backend in ``conftest.BACKENDS`` must pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.types import MetricSeries, SeriesKey
from backend.errors import SeriesNotFoundError, TenantIsolationError, ValidationError
from backend.storage import StorageBackend, configure_storage, get_metric_series

T0 = datetime(2024, 3, 1, 23, 50)  # ten minutes before a UTC midnight


def minutes(*offsets: int) -> list[datetime]:
    return [T0 + timedelta(minutes=m) for m in offsets]


def series(
    node: str = "n1",
    offsets: tuple[int, ...] = (0, 1, 2),
    values: list[float] | None = None,
    tenant: str = "t1",
    metric: str = "cpu",
    metadata: dict[str, object] | None = None,
) -> MetricSeries:
    vals = values if values is not None else [float(o) for o in offsets]
    return MetricSeries(tenant, "c1", node, metric, minutes(*offsets), vals, metadata or {})


def read(storage: StorageBackend, node: str = "n1", **kwargs: object) -> MetricSeries:
    return storage.get_metric_series("t1", "c1", node, "cpu", **kwargs)  # type: ignore[arg-type]


# --- writes --------------------------------------------------------------------------------
def test_store_metrics_round_trip_keeps_exact_points(storage: StorageBackend) -> None:
    rng = np.random.default_rng(7)
    ts = to_epoch_ns(T0) + np.cumsum(rng.integers(1, 10**12, size=500))
    original = MetricSeries.from_arrays(
        SeriesKey("t1", "c1", "n1", "cpu"), ts, rng.normal(size=500)
    )
    storage.store_metrics([original])
    assert read(storage) == original


def test_store_metrics_reports_series_and_points(storage: StorageBackend) -> None:
    report = storage.store_metrics([series("n1"), series("n2", (0, 1))])
    assert (report.series_written, report.points_written) == (2, 5)


def test_store_metrics_same_points_twice_not_duplicated(storage: StorageBackend) -> None:
    storage.store_metrics([series(offsets=tuple(range(30)))])
    storage.store_metrics([series(offsets=tuple(range(30)))])
    assert read(storage).length == 30
    assert storage.get_stats()["total_points"] == 30


def test_store_metrics_overlap_last_write_wins(storage: StorageBackend) -> None:
    storage.store_metrics([series(offsets=(0, 1, 2), values=[1.0, 1.0, 1.0])])
    storage.store_metrics([series(offsets=(2, 3), values=[9.0, 9.0])])
    result = read(storage)
    assert result.timestamps == minutes(0, 1, 2, 3)
    assert result.values == [1.0, 1.0, 9.0, 9.0]


def test_store_metrics_out_of_order_batches_read_ascending(storage: StorageBackend) -> None:
    storage.store_metrics([series(offsets=(20, 21, 22))])
    storage.store_metrics([series(offsets=(0, 11, 30))])
    storage.store_metrics([series(offsets=(5, 21, 25))])
    assert read(storage).timestamps == minutes(0, 5, 11, 20, 21, 22, 25, 30)


def test_store_metrics_duplicate_key_in_one_batch_merges(storage: StorageBackend) -> None:
    report = storage.store_metrics(
        [series(offsets=(0, 1), values=[1.0, 1.0]), series(offsets=(1, 2), values=[5.0, 5.0])]
    )
    assert read(storage).values == [1.0, 5.0, 5.0]
    assert report.series_written == 1


def test_store_metrics_empty_series_is_listed_and_empty(storage: StorageBackend) -> None:
    storage.store_metrics([series(offsets=(), values=[])])
    assert storage.list_series("t1") == [SeriesKey("t1", "c1", "n1", "cpu")]
    assert read(storage).length == 0


def test_store_metrics_metadata_merged_across_writes(storage: StorageBackend) -> None:
    storage.store_metrics([series(metadata={"unit": "%", "source": "sim"})])
    storage.store_metrics([series(offsets=(3,), metadata={"source": "prom"})])
    assert read(storage).metadata == {"unit": "%", "source": "prom"}


def test_store_metric_single_form_idempotent(storage: StorageBackend) -> None:
    storage.store_metric(series())
    storage.store_metric(series())
    assert read(storage).length == 3


# --- reads ---------------------------------------------------------------------------------
def test_get_metric_series_bounds_inclusive(storage: StorageBackend) -> None:
    storage.store_metrics([series(offsets=tuple(range(20)))])
    result = read(storage, start_time=minutes(5)[0], end_time=minutes(15)[0])
    assert result.timestamps == minutes(*range(5, 16))


def test_get_metric_series_bounds_between_points(storage: StorageBackend) -> None:
    storage.store_metrics([series(offsets=(0, 10, 20, 30))])
    result = read(
        storage, start_time=T0 + timedelta(minutes=1), end_time=T0 + timedelta(minutes=29)
    )
    assert result.timestamps == minutes(10, 20)


def test_get_metric_series_range_outside_data_empty(storage: StorageBackend) -> None:
    storage.store_metrics([series()])
    result = read(storage, start_time=T0 + timedelta(days=3))
    assert result.length == 0
    assert result.key == SeriesKey("t1", "c1", "n1", "cpu")


def test_get_metric_series_unknown_raises_not_found(storage: StorageBackend) -> None:
    storage.store_metrics([series()])
    with pytest.raises(SeriesNotFoundError):
        read(storage, node="nope")
    with pytest.raises(ValueError, match="nope"):
        read(storage, node="nope")


def test_get_metric_series_other_tenant_not_found(storage: StorageBackend) -> None:
    storage.store_metrics([series(tenant="t2")])
    with pytest.raises(SeriesNotFoundError):
        read(storage)


def test_get_metric_series_naive_by_default(storage: StorageBackend) -> None:
    storage.store_metrics([series()])
    assert read(storage).timestamps[0] == T0
    assert read(storage).timestamps[0].tzinfo is None


def test_get_metric_series_aware_bounds_echo_aware(storage: StorageBackend) -> None:
    storage.store_metrics([series()])
    result = read(storage, start_time=T0.replace(tzinfo=UTC))
    assert result.timestamps[0] == T0.replace(tzinfo=UTC)
    assert result.timestamps[0].tzinfo is not None


def test_get_metric_series_inverted_bounds_rejected(storage: StorageBackend) -> None:
    storage.store_metrics([series()])
    with pytest.raises(ValidationError, match="end_time"):
        read(storage, start_time=minutes(2)[0], end_time=minutes(1)[0])


def test_get_metric_series_bad_bound_rejected(storage: StorageBackend) -> None:
    storage.store_metrics([series()])
    with pytest.raises(ValidationError, match="start_time"):
        read(storage, start_time=object())


def test_get_metric_series_module_shim_reads_configured_backend(storage: StorageBackend) -> None:
    storage.store_metrics([series()])
    configure_storage(storage)
    assert get_metric_series("t1", "c1", "n1", "cpu").length == 3


def test_get_metric_series_batch_reads_each_as_one_read_would(storage: StorageBackend) -> None:
    storage.store_metrics([
        series("n1", tuple(range(40)), metadata={"unit": "percent"}),
        series("n2", (5, 15, 25)),
        series("n3", ()),
        series("n1", (1, 2), tenant="t2"),
    ])  # fmt: skip
    keys = [SeriesKey("t1", "c1", n, "cpu") for n in ("n3", "n1", "gone", "n2")]
    start, end = T0 + timedelta(minutes=10), T0 + timedelta(minutes=30)
    batch = storage.get_metric_series_batch("t1", keys, start, end)
    assert list(batch) == [keys[0], keys[1], keys[3]]  # asked order; "gone" left out
    for key, found in batch.items():
        assert found == storage.get_metric_series(*key, start, end)
    assert batch[keys[1]].length == 21 and batch[keys[1]].metadata == {"unit": "percent"}
    assert batch[keys[0]].length == 0
    assert storage.get_metric_series_batch("t1", []) == {}


def test_get_metric_series_batch_is_scoped_to_its_tenant(storage: StorageBackend) -> None:
    storage.store_metrics([series("n1", tenant="t2")])
    with pytest.raises(TenantIsolationError):
        storage.get_metric_series_batch("t1", [SeriesKey("t2", "c1", "n1", "cpu")])
    assert storage.get_metric_series_batch("t1", [SeriesKey("t1", "c1", "n1", "cpu")]) == {}
    with pytest.raises(ValidationError):
        storage.get_metric_series_batch("t1", ["not a key"])  # type: ignore[list-item]


def test_list_series_tenant_isolated_sorted_filtered(storage: StorageBackend) -> None:
    storage.store_metrics(
        [series("n2"), series("n1", metric="mem"), series("n1"), series("n9", tenant="t2")]
    )
    assert storage.list_series("t1") == [
        SeriesKey("t1", "c1", "n1", "cpu"),
        SeriesKey("t1", "c1", "n1", "mem"),
        SeriesKey("t1", "c1", "n2", "cpu"),
    ]
    assert storage.list_series("t1", node_id="n1", metric_name="mem") == [
        SeriesKey("t1", "c1", "n1", "mem")
    ]
    assert storage.list_series("t1", cluster_id="other") == []
    assert storage.list_series("t3") == []


# --- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [["not a series"], [None], "abc", 42])
def test_store_metrics_non_series_rejected_nothing_written(
    storage: StorageBackend, bad: object
) -> None:
    storage.store_metrics([series()])
    batch = [series("n2"), *bad] if isinstance(bad, list) else bad
    with pytest.raises(ValidationError):
        storage.store_metrics(batch)  # type: ignore[arg-type]
    assert storage.list_series("t1") == [SeriesKey("t1", "c1", "n1", "cpu")]
    assert storage.get_stats()["total_points"] == 3


def test_store_metrics_single_series_not_a_batch(storage: StorageBackend) -> None:
    with pytest.raises(ValidationError, match="series_list"):
        storage.store_metrics(series())  # type: ignore[arg-type]


def test_store_metrics_failed_batch_leaves_earlier_data_unchanged(
    storage: StorageBackend,
) -> None:
    storage.store_metrics([series(offsets=(0, 1), values=[1.0, 1.0])])
    good = series(offsets=(1, 2), values=[7.0, 7.0])
    bad = series("n2", metadata={"opaque": object()})
    with pytest.raises(ValidationError, match="metadata"):
        storage.store_metrics([good, bad])
    assert read(storage).values == [1.0, 1.0]
    assert storage.list_series("t1") == [SeriesKey("t1", "c1", "n1", "cpu")]


def test_list_tenants_sorted_unique(storage: StorageBackend) -> None:
    assert storage.list_tenants() == []
    storage.store_metrics([series("n1", tenant="t2"), series("n1"), series("n2")])
    assert storage.list_tenants() == ["t1", "t2"]


def test_metadata_with_datetimes_round_trips_as_iso_text(storage: StorageBackend) -> None:
    stamped = series("n1")
    metadata = {"since": datetime(2024, 1, 1, 5), "n": 3}
    stamped = type(stamped).from_arrays(
        stamped.key, stamped.timestamps_ns, stamped.values_array, metadata
    )
    storage.store_metrics([stamped])
    back = storage.get_metric_series("t1", "c1", "n1", "cpu")
    assert back.metadata == {"since": "2024-01-01T05:00:00", "n": 3}
