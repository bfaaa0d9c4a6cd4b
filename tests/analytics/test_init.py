"""The curated public surface of backend.analytics (documented import paths)."""

from __future__ import annotations

import backend.analytics as analytics

DOCUMENTED = {
    "AggregatedAnomalyScore",
    "AggregationPipeline",
    "AnomalyDetectionEngine",
    "AnomalyResult",
    "AnomalyType",
    "EngineRegistry",
    "MetricSeries",
    "SlidingWindowExtractor",
}


def test_analytics_exports_documented_names() -> None:
    assert set(analytics.__all__) >= DOCUMENTED
    for name in analytics.__all__:
        assert getattr(analytics, name) is not None, name


def test_analytics_all_is_sorted_and_unique() -> None:
    assert len(set(analytics.__all__)) == len(analytics.__all__)


def test_analytics_does_not_import_web_or_storage_layers() -> None:
    import ast
    from pathlib import Path

    forbidden = ("fastapi", "pydantic", "backend.storage", "backend.ingestion", "backend.api")
    for path in Path(analytics.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(forbidden), f"{path.name} imports {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith(forbidden), f"{path.name}: {alias.name}"
