"""``aboutcloud serve``: a real uvicorn process on a free port, stopped with SIGINT."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from backend.analytics.config import reset_config
from backend.api import ApiKeyService
from backend.cli.app import main
from backend.cli.serve_cmd import build_settings, register
from backend.storage.factory import open_storage

REPO = Path(__file__).resolve().parents[2]
# The command module on its own, as ``aboutcloud serve`` runs it once registered in app.py.
LAUNCHER = (
    "import sys, typer; from backend.cli.serve_cmd import register; "
    "app = typer.Typer(); app.callback()(lambda: None); register(app); "
    "sys.exit(app(args=sys.argv[1:]))"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(log.read_text())
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("server did not become ready")


@pytest.mark.slow
def test_serve_answers_with_stored_keys_and_stops_on_sigint(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    with open_storage(url) as storage:
        key = ApiKeyService(storage).create("acme", "viewer").key
    port = _free_port()
    env = {**os.environ, "ABOUTCLOUD_ACCESS_LOG": "false"}
    log = tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out, subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, "serve", "--port", str(port), "--database-url", url],
        cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
    ) as process:  # fmt: skip
        try:
            _wait_ready(base, process, log)
            health = httpx.get(f"{base}/health", headers={"Authorization": f"Bearer {key}"})
            assert health.status_code == 200
            assert health.json()["tenant_id"] == "acme"
            assert httpx.get(f"{base}/health").status_code == 401
            assert httpx.get(f"{base}/").status_code == 200
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    assert process.returncode == 0, log.read_text()
    assert f"http://127.0.0.1:{port}/" in log.read_text()


def test_build_settings_overrides_environment(monkeypatch: object) -> None:
    settings = build_settings("memory://", "default")
    assert (settings.database_url, settings.engine) == ("memory://", "default")


def test_serve_bad_port_is_usage_error() -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    assert CliRunner().invoke(app, ["serve", "--port", "70000"]).exit_code == 2


def test_build_settings_without_engine_leaves_the_choice_to_the_configuration() -> None:
    assert build_settings(None, None).engine is None
    assert build_settings(None, "multivariate").engine == "multivariate"


def test_serve_refuses_to_start_on_a_setting_the_engine_does_not_have(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reset_config()
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__ENGINE_CONFIG", '{"supress": 0.5}')
    assert main(["serve", "--database-url", "memory://", "--port", "1"]) == 1
    err = capsys.readouterr().err
    assert "supress" in err and "'suppress'" in err
