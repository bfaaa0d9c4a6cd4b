"""The dashboard's files are served by the API process; plotly.js comes from the wheel."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from backend.analytics.engine import EngineRegistry
from backend.api import ApiSettings, create_app
from backend.dashboard import STATIC_DIR, plotly_js_path
from backend.storage import InMemoryStorage

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

MODULES = ("app.js", "api.js", "dom.js", "views.js", "chart.js")


@pytest.fixture
def client() -> TestClient:
    settings = ApiSettings(access_log=False, dashboard_refresh_seconds=7)
    return TestClient(create_app(settings, InMemoryStorage(), EngineRegistry.get("default")))


def test_index_served_with_refresh_and_csp(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert 'data-refresh-seconds="7"' in response.text
    assert "{{" not in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("name", [*MODULES, "style.css"])
def test_static_assets_served(client: TestClient, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.content == (STATIC_DIR / name).read_bytes()


def test_plotly_served_from_installed_package(client: TestClient) -> None:
    response = client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == plotly_js_path().read_bytes()
    assert "site-packages" in str(plotly_js_path()) or "dist-packages" in str(plotly_js_path())


def test_no_copy_of_plotly_in_repository() -> None:
    repo = Path(__file__).resolve().parents[2]
    copies = [p for p in (repo / "backend").rglob("*.js") if "plotly" in p.name.lower()]
    assert copies == []


def test_modules_never_assign_inner_html() -> None:
    for name in MODULES:
        assert ".innerHTML" not in (STATIC_DIR / name).read_text(encoding="utf-8"), name


def test_dashboard_routes_not_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)
