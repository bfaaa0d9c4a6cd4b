from __future__ import annotations

import threading

import numpy as np
import psycopg
import pytest

from backend.errors import StorageConfigError
from backend.storage._chunks import encode_timestamps
from backend.storage.postgres import PostgresStorage, current_version, head_version, upgrade
from backend.storage.postgres.connection import connect
from backend.storage.postgres.migrate import load_migrations, migration_status
from backend.storage.postgres.partitions import PartitionManager

pytestmark = pytest.mark.postgres

DAY = 19723  # 2024-01-01


def test_load_migrations_numbered_without_gaps() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))
    assert head_version() == versions[-1] >= 2


def test_current_version_none_on_empty_database(empty_url: str) -> None:
    with connect(empty_url) as conn:
        assert current_version(conn) is None
        assert [m.version for m in migration_status(conn).pending] == list(
            range(1, head_version() + 1)
        )


def test_upgrade_empty_database_reaches_head_then_applies_nothing(empty_url: str) -> None:
    with connect(empty_url) as conn:
        applied = upgrade(conn)
        assert [m.version for m in applied] == list(range(1, head_version() + 1))
        assert current_version(conn) == head_version()
        assert upgrade(conn) == []
        assert migration_status(conn).up_to_date


def test_upgrade_database_holding_data_keeps_it(empty_url: str) -> None:
    with connect(empty_url) as conn:
        upgrade(conn, target=1)
        assert current_version(conn) == 1
        _insert_version_1_data(conn)
        upgrade(conn)
    with PostgresStorage(empty_url) as storage:
        series = storage.get_metric_series("t1", "c1", "n1", "cpu")
        assert series.values == [1.0, 2.0, 3.0]
        assert series.metadata == {"unit": "%"}
        assert [a["anomaly_score"] for a in storage.query_anomalies("t1")] == [0.9]


def _insert_version_1_data(conn: psycopg.Connection) -> None:
    PartitionManager().ensure(conn, [DAY])
    series_id = conn.execute(
        "INSERT INTO series (tenant_id, cluster_id, node_id, metric_name, metadata) "
        "VALUES ('t1', 'c1', 'n1', 'cpu', '{\"unit\": \"%\"}') RETURNING series_id"
    ).fetchone()
    assert series_id is not None
    ts = DAY * 86_400 * 10**9 + np.arange(3, dtype=np.int64) * 60 * 10**9
    codec, blob = encode_timestamps(ts)
    values = np.array([1.0, 2.0, 3.0]).astype("<f8").tobytes()
    conn.execute(
        "INSERT INTO point_chunks VALUES ('t1', %s, %s, 3, %s, %b, %b)",
        (series_id[0], DAY, codec, blob, values),
    )
    start = DAY * 86_400 * 10**9
    conn.execute(
        "INSERT INTO anomaly_results (tenant_id, cluster_id, node_id, metric_name, window_start, "
        "window_end, anomaly_score, anomaly_label, timestamp_detected, engine_metadata) "
        "VALUES ('t1', 'c1', 'n1', 'cpu', %s, %s, 0.9, 'spike', %s, '{}')",
        (start, start + 60 * 10**9, start),
    )


def test_storage_outdated_schema_refused_unless_migrate(empty_url: str) -> None:
    with connect(empty_url) as conn:
        upgrade(conn, target=1)
    with pytest.raises(StorageConfigError, match="aboutcloud db upgrade"):
        PostgresStorage(empty_url)
    with PostgresStorage(empty_url, migrate=True) as storage:
        assert storage.get_stats()["total_metrics"] == 0
    with connect(empty_url) as conn:
        assert current_version(conn) == head_version()


def test_upgrade_edited_migration_reported(empty_url: str) -> None:
    with connect(empty_url) as conn:
        upgrade(conn)
        conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        with pytest.raises(StorageConfigError, match="edited after it was applied"):
            upgrade(conn)


def test_upgrade_database_newer_than_code_reported(empty_url: str) -> None:
    with connect(empty_url) as conn:
        upgrade(conn)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, 'future', 'x')",
            (head_version() + 1,),
        )
        with pytest.raises(StorageConfigError, match="newer than this code"):
            migration_status(conn)


def test_upgrade_bad_target_rejected(empty_url: str) -> None:
    with connect(empty_url) as conn, pytest.raises(StorageConfigError, match="target version"):
        upgrade(conn, target=head_version() + 5)


def test_upgrade_concurrent_upgraders_apply_each_migration_once(empty_url: str) -> None:
    applied: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with connect(empty_url) as conn:
                applied.extend(m.version for m in upgrade(conn))
        except BaseException as exc:  # reported on the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(applied) == list(range(1, head_version() + 1))
    with connect(empty_url) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == list(range(1, head_version() + 1))


def test_upgrade_needs_autocommit_connection(empty_url: str) -> None:
    with connect(empty_url, autocommit=False) as conn, pytest.raises(StorageConfigError):
        upgrade(conn)
