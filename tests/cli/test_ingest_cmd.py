"""``aboutcloud ingest`` over real files and a real SQLite storage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from backend.cli.ingest_cmd import register
from backend.ingestion.files import MetricFileError
from backend.simulator.frames import long_frame
from backend.simulator.generator import MetricSimulator, SimulatorConfig
from backend.storage.factory import open_storage
from tests.cli._apps import WIDE, app_with


def app() -> typer.Typer:
    return app_with(register)


def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


def simulated_csv(tmp_path: Path, tenant: str = "acme", name: str = "metrics.csv") -> Path:
    simulator = MetricSimulator(SimulatorConfig(seed=4))
    series = [
        simulator.generate(tenant, "prod", f"node-{i}", metric, 60, "2024-01-01T00:00:00")
        for i in range(2)
        for metric in ("cpu_usage", "latency")
    ]
    path = tmp_path / name
    long_frame(series).to_csv(path, index=False)
    return path


def test_ingest_stores_simulator_csv(tmp_path: Path) -> None:
    path = simulated_csv(tmp_path)

    result = CliRunner().invoke(app(), ["ingest", str(path), "--tenant", "acme",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Accepted: 4 series, 240 points" in result.output
    assert "Rejected: 0 series, 0 points" in result.output
    with open_storage(db_url(tmp_path)) as storage:
        assert len(storage.list_series("acme")) == 4
        assert storage.get_metric_series("acme", "prod", "node-1", "latency").length == 60


def test_ingest_parquet_and_database_url_from_env(tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    pd.read_csv(simulated_csv(tmp_path)).to_parquet(path)

    env = {**WIDE, "ABOUTCLOUD_DATABASE_URL": db_url(tmp_path)}

    result = CliRunner().invoke(app(), ["ingest", str(path), "-t", "acme"], env=env)

    assert result.exit_code == 0, result.output
    with open_storage(db_url(tmp_path)) as storage:
        assert len(storage.list_series("acme")) == 4


def test_ingest_rejects_other_tenant_rows_and_bad_rows_with_reasons(tmp_path: Path) -> None:
    frame = pd.read_csv(simulated_csv(tmp_path))
    frame.loc[frame["node_id"] == "node-0", "tenant_id"] = "globex"
    frame.loc[(frame["node_id"] == "node-1") & (frame["metric_name"] == "cpu_usage"), "value"] = (
        frame["value"].where(frame.index % 60 != 7, other=float("nan"))
    )
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)

    result = CliRunner().invoke(app(), ["ingest", str(path), "--tenant", "acme",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Accepted: 1 series, 60 points" in result.output
    assert "Rejected: 3 series, 180 points" in result.output
    assert "globex/prod/node-0/cpu_usage" in result.output
    assert "tenant isolation" in result.output
    assert "is missing" in result.output
    assert "row 128" in result.output
    with open_storage(db_url(tmp_path)) as storage:
        assert storage.list_series("globex") == []
        assert [k.metric_name for k in storage.list_series("acme")] == ["latency"]


def test_ingest_atomic_stores_nothing_when_any_series_bad(tmp_path: Path) -> None:
    frame = pd.read_csv(simulated_csv(tmp_path))
    frame["value"] = frame["value"].astype(object)
    frame.loc[3, "value"] = "oops"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)

    result = CliRunner().invoke(app(), ["ingest", str(path), "--tenant", "acme", "--atomic",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip

    assert result.exit_code == 1
    assert "Accepted: 0 series" in result.output
    assert "atomic" in result.output
    assert "is not a number" in result.output
    with open_storage(db_url(tmp_path)) as storage:
        assert storage.list_series("acme") == []


def test_ingest_nothing_accepted_exits_1(tmp_path: Path) -> None:
    path = simulated_csv(tmp_path, tenant="globex")

    result = CliRunner().invoke(app(), ["ingest", str(path), "--tenant", "acme",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip

    assert result.exit_code == 1
    assert "Rejected: 4 series, 240 points" in result.output


def test_ingest_empty_file_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("tenant_id,cluster_id,node_id,metric_name,timestamp,value\n")

    result = CliRunner().invoke(app(), ["ingest", str(path), "--tenant", "acme",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Accepted: 0 series, 0 points" in result.output


def test_ingest_file_without_tenant_column_takes_tenant_option(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    pd.read_csv(simulated_csv(tmp_path)).drop(columns="tenant_id").to_csv(path, index=False)

    result = CliRunner().invoke(app(), ["ingest", str(path), "--tenant", "initech",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip

    assert result.exit_code == 0, result.output
    with open_storage(db_url(tmp_path)) as storage:
        assert len(storage.list_series("initech")) == 4


def test_ingest_several_files_and_reingest_is_idempotent(tmp_path: Path) -> None:
    a = simulated_csv(tmp_path, name="a.csv")
    b = tmp_path / "b.csv"
    frame = pd.read_csv(a)
    frame["cluster_id"] = "staging"
    frame.to_csv(b, index=False)
    args = ["ingest", str(a), str(b), "--tenant", "acme", "--database-url", db_url(tmp_path)]

    first = CliRunner().invoke(app(), args, env=WIDE)
    second = CliRunner().invoke(app(), args, env=WIDE)

    assert first.exit_code == second.exit_code == 0
    assert "Accepted: 8 series, 480 points" in second.output
    with open_storage(db_url(tmp_path)) as storage:
        assert storage.get_stats()["total_points"] == 480


def test_ingest_missing_file_is_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app(), ["ingest", str(tmp_path / "nope.csv"), "--tenant", "a",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip

    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_ingest_file_missing_column_raises_named_error(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    pd.read_csv(simulated_csv(tmp_path)).drop(columns="value").to_csv(path, index=False)

    result = CliRunner().invoke(app(), ["ingest", str(path), "--tenant", "acme",
                                        "--database-url", db_url(tmp_path)], env=WIDE)  # fmt: skip

    assert isinstance(result.exception, MetricFileError)
    assert result.exception.column == "value"
    assert str(path) in str(result.exception)


def test_ingest_requires_tenant(tmp_path: Path) -> None:
    result = CliRunner().invoke(app(), ["ingest", str(simulated_csv(tmp_path))], env=WIDE)

    assert result.exit_code == 2
    assert "--tenant" in result.output


@pytest.mark.parametrize("flag", ["--help"])
def test_ingest_help_documents_options(flag: str) -> None:
    result = CliRunner().invoke(app(), ["ingest", flag], env=WIDE)

    assert result.exit_code == 0
    for option in ("--tenant", "--database-url", "--atomic"):
        assert option in result.output
