from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.types import MetricSeries, SeriesKey
from backend.cli.retention_cmd import parse_tenant_days, register
from backend.errors import ConfigError
from backend.storage import StorageBackend, open_storage

KEY = SeriesKey("t1", "c1", "n1", "cpu")


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _store_two_days(storage: StorageBackend) -> None:
    ts = to_epoch_ns(datetime(2024, 1, 1)) + np.arange(2 * 1440, dtype=np.int64) * 60 * 10**9
    storage.store_metrics([MetricSeries.from_arrays(KEY, ts, np.ones(ts.size))])


def _run(url: str, *args: str) -> str:
    argv = ["retention", "run", "--database-url", url, "--now", "2024-01-10", *args]
    result = CliRunner().invoke(_app(), argv)
    assert result.exit_code == 0, result.output
    return result.output


def test_retention_run_embedded_rolls_up_old_days(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with open_storage(url) as storage:
        _store_two_days(storage)
    assert "rolled up 2880 points of 2 days" in _run(url, "--raw-days", "7")
    with open_storage(url) as storage:
        assert storage.get_stats()["total_points"] == 0


def test_retention_run_tenant_override_keeps_its_points(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with open_storage(url) as storage:
        _store_two_days(storage)
    assert "rolled up 0 points" in _run(url, "--raw-days", "7", "--tenant-raw-days", "t1=30")


@pytest.mark.postgres
def test_retention_run_postgres_rolls_up_and_drops_partitions() -> None:
    from backend.storage.postgres import PostgresStorage
    from tests.storage.postgres_support import fresh_store_url

    url = fresh_store_url()
    with PostgresStorage(url) as storage:
        _store_two_days(storage)
    output = _run(url, "--raw-days", "7")
    assert "rolled up 2880 points of 2 days" in output
    dropped = re.search(r"dropped (\d+) partitions", output)
    # the per-worker test database may hold other tests' expired partitions too
    assert dropped is not None and int(dropped.group(1)) >= 2
    assert "dropped 0 partitions" in _run(url, "--raw-days", "7")
    with PostgresStorage(url) as storage:
        assert storage.get_metric_series(*KEY).length == 2 * 288


@pytest.mark.parametrize("bad", ["acme", "=3", "acme=x", "acme=-1"])
def test_parse_tenant_days_bad_item_named(bad: str) -> None:
    with pytest.raises(ConfigError, match="TENANT=DAYS"):
        parse_tenant_days([bad])
