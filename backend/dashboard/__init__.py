"""The web dashboard: static HTML, CSS and JS modules served by the API process itself.

No build step: ``static/`` holds plain ES modules. Charts use plotly.js from the installed
``plotly`` Python package (its ``package_data/plotly.min.js``), located at run time and served
at ``/static/vendor/plotly.min.js``, so no copy of it lives in this repository.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse
from starlette.staticfiles import StaticFiles

from backend.api.settings import ApiSettings
from backend.errors import ConfigError

__all__ = ["STATIC_DIR", "mount_dashboard", "plotly_js_path"]

STATIC_DIR = Path(__file__).parent / "static"
PLOTLY_URL = "/static/vendor/plotly.min.js"
_CACHE = {"Cache-Control": "public, max-age=86400"}
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'"
)


def plotly_js_path() -> Path:
    """Where the installed ``plotly`` package keeps ``plotly.min.js``."""
    path = Path(str(importlib.resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():
        raise ConfigError("plotly", str(path), "plotly.min.js not found in the plotly package")
    return path


def mount_dashboard(app: FastAPI, settings: ApiSettings) -> None:
    """Serve the dashboard at ``/`` and its assets under ``/static``."""
    index = _render_index(settings)
    plotly_js = plotly_js_path()

    @app.get("/", include_in_schema=False)
    def dashboard_index() -> HTMLResponse:
        return HTMLResponse(index, headers={"Content-Security-Policy": _CSP})

    @app.get(PLOTLY_URL, include_in_schema=False)
    def plotly_bundle() -> FileResponse:
        return FileResponse(plotly_js, media_type="text/javascript", headers=_CACHE)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _render_index(settings: ApiSettings) -> str:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return html.replace("{{REFRESH_SECONDS}}", f"{settings.dashboard_refresh_seconds:g}")
