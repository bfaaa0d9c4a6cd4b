"""``aboutcloud demo``: one command backfills, detects, serves and streams live data."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from backend.api import ApiKeyService
from backend.cli.demo_cmd import DEMO_TENANT, demo_fleet_spec, register
from backend.simulator import simulate_fleet
from backend.storage.factory import open_storage

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = (
    "import sys, typer; from backend.cli.demo_cmd import register; "
    "app = typer.Typer(); app.callback()(lambda: None); register(app); "
    "sys.exit(app(args=sys.argv[1:]))"
)
KEY_LINE = re.compile(r"API key \(tenant 'demo', admin\): (ack_\S+)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_key(log: Path, process: subprocess.Popen[bytes], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = KEY_LINE.search(log.read_text())
        if match:
            return match.group(1)
        if process.poll() is not None:
            raise AssertionError(log.read_text())
        time.sleep(0.2)
    raise AssertionError(f"no key printed: {log.read_text()}")


@pytest.mark.slow
def test_demo_serves_dashboard_with_live_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    port = _free_port()
    args = ["demo", "--port", str(port), "--database-url", url, "--no-browser",
            "--duration", "6", "--clusters", "2", "--nodes", "3", "--backfill-hours", "20",
            "--interval", "0.5", "--speed", "1200", "--detect-every", "2"]  # fmt: skip
    log = tmp_path / "demo.log"
    with (
        log.open("wb") as out,
        subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, *args], cwd=REPO, stdout=out, stderr=subprocess.STDOUT
        ) as process,
    ):
        key = _wait_for_key(log, process)
        headers = {"Authorization": f"Bearer {key}"}
        base = f"http://127.0.0.1:{port}"
        health = httpx.get(f"{base}/health", headers=headers).json()
        first = httpx.get(f"{base}/metrics/series", headers=headers).json()["series"]
        assert httpx.get(f"{base}/").status_code == 200
        process.wait(timeout=60)
    assert process.returncode == 0, log.read_text()
    assert health["tenant_id"] == DEMO_TENANT
    assert {c["cluster_id"] for c in health["clusters"]} == {"cluster-1", "cluster-2"}
    assert len(first) == 2 * 3 * 4
    assert f"http://127.0.0.1:{port}/" in log.read_text()
    with open_storage(url) as storage:
        assert ApiKeyService(storage).authenticate(key).tenant_id == DEMO_TENANT
        series = storage.get_metric_series(DEMO_TENANT, "cluster-1", "node-001", "cpu_usage")
        assert series.length > 20 * 60  # the backfill plus streamed points
        assert storage.get_stats()["total_anomalies"] > 0


def test_demo_rejects_bad_options() -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--clusters", "0"]).exit_code == 2
    assert runner.invoke(app, ["demo", "--speed", "0"]).exit_code == 2


@pytest.mark.parametrize(("backfill_hours", "learning_hours"), [(24.0, 12.0), (2.0, 0.0)])
def test_demo_anomalies_start_once_the_engine_has_learnt(
    backfill_hours: float, learning_hours: float
) -> None:
    now_ns = 1_704_067_200 * 10**9
    spec = demo_fleet_spec(2, 3, backfill_hours, 42, learning_hours, now_ns)
    fleet = simulate_fleet(spec)
    start_ns = now_ns - int(backfill_hours * 3600) * 10**9
    hours = [(label.start_ns - start_ns) / 3.6e12 for label in fleet.labels]
    assert fleet.labels and min(hours) >= learning_hours
    assert min(hours) >= 0.2 * (backfill_hours + 24) - 1 / 60  # and never in the first fifth
