"""The OpenAPI document: the raw-body ingestion schema and problem+json error answers.

``POST /metrics`` reads its body itself (fast path), so its schema is added here; every
protected operation documents its error answers as ``application/problem+json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from backend.api.problems import PROBLEM_MEDIA_TYPE
from backend.api.schemas import IngestRequest, Problem

__all__ = ["install_openapi"]

_REF_TEMPLATE = "#/components/schemas/{model}"
_ERRORS = {
    "401": "No or invalid credential",
    "403": "The credential's role does not allow this",
    "404": "Not found (or another tenant's)",
    "413": "Request or answer over a size limit",
    "422": "Invalid input; `errors` names each field",
    "429": "Rate limit exceeded; see Retry-After",
}


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with a cached generator that adds the extra schemas."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            )  # fmt: skip
            _add_models(document)
            _document_errors(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_models(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (IngestRequest, Problem):
        schema = model.model_json_schema(ref_template=_REF_TEMPLATE)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)


def _document_errors(document: dict[str, Any]) -> None:
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _REF_TEMPLATE.format(model="Problem")}}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if "security" not in operation:
                continue  # public: /healthz
            responses = operation.setdefault("responses", {})
            for status, description in _ERRORS.items():
                responses[status] = {"description": description, "content": problem}
