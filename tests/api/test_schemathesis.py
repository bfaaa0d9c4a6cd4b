"""Property-based fuzzing of every documented operation: no input may cause a 5xx.

Schemathesis generates requests from /openapi.json, both schema-valid and deliberately
invalid ones (wrong types, missing fields, odd query strings), and sends them through the ASGI
app with an admin key; answers must also match their documented schema and media type. The
schema is loaded at import (schemathesis' lazy fixture loader does not support this pytest),
and examples are bounded to keep the run well under a minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from backend.analytics.aggregation import AggregationPipeline
from backend.analytics.engine import EngineRegistry
from backend.analytics.types import AnomalyResult, MetricSeries
from backend.api import ApiKeyService, ApiSettings, create_app
from backend.storage import InMemoryStorage

T0 = datetime(2024, 1, 1)


def _schema() -> Any:
    """One tenant's small world behind the app, fuzzed with its admin key."""
    storage = InMemoryStorage()
    storage.store_metric(MetricSeries("acme", "eu-1", "node-1", "cpu_usage",
                                      [T0 + timedelta(minutes=i) for i in range(60)],
                                      [40.0 + (i % 7) for i in range(60)]))  # fmt: skip
    result = AnomalyResult("acme", "eu-1", "node-1", "cpu_usage", T0, T0 + timedelta(minutes=9),
                           0.9, "spike", explanation="spike")  # fmt: skip
    storage.store_anomaly_results("acme", [result])
    storage.store_aggregated_scores(AggregationPipeline().run([result]).all_scores())
    key = ApiKeyService(storage).create("acme", "admin").key
    app_settings = ApiSettings(access_log=False, rate_limit_enabled=False)
    app = create_app(app_settings, storage, EngineRegistry.get("default"))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.headers = {"Authorization": f"Bearer {key}"}
    return schema


SCHEMA = _schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _has_inputs(operation: Any) -> bool:
    """Operations without parameters or body cannot be sent invalid input."""
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


CASES = [
    pytest.param(operation, mode, id=f"{operation.label}-{mode.value}")
    for operation in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _has_inputs(operation)
]


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_api_never_answers_5xx(operation: Any, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(
            checks=[checks.not_a_server_error, checks.response_schema_conformance,
                    checks.content_type_conformance],
        )  # fmt: skip

    fuzz()
