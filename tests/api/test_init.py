"""The public surface of backend.api and backend.dashboard is pinned; imports point one way."""

from __future__ import annotations

import ast
from pathlib import Path

import backend.api
import backend.dashboard

BACKEND = Path(backend.api.__file__).resolve().parents[1]


def test_api_exports_exactly_the_public_names() -> None:
    assert sorted(backend.api.__all__) == sorted(
        [
            "API_VERSION",
            "PROBLEM_TABLE",
            "ApiKeyService",
            "ApiSettings",
            "Authenticator",
            "CreatedKey",
            "Principal",
            "Role",
            "TokenBucketLimiter",
            "create_app",
            "problem_for",
            "require_role",
        ]
    )
    assert all(getattr(backend.api, name) is not None for name in backend.api.__all__)


def test_dashboard_exports_exactly_the_public_names() -> None:
    assert sorted(backend.dashboard.__all__) == ["STATIC_DIR", "mount_dashboard", "plotly_js_path"]


def test_nothing_below_api_imports_it() -> None:
    """api → ingestion/detection → analytics/storage: the lower layers never import the API."""
    for package in ("analytics", "storage", "ingestion", "detection", "simulator"):
        for path in (BACKEND / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    assert not node.module.startswith(("backend.api", "backend.dashboard")), path
                if isinstance(node, ast.Import):
                    assert not any(a.name.startswith("backend.api") for a in node.names), path
