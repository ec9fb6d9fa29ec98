"""The app's /openapi.json, with the error responses each operation can give added in one place.

Inferred from the operation itself, so a new route is documented without declaring anything:
422 where it takes parameters or a body, 413 where it takes a body, 404 where its path names
an object, 401/403 where it needs a staff session (it has a `security` requirement) and 503
for every operation (the database or another dependency busy or down). A response a route
declares itself (core/schemas.error_responses) is kept as it is.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from core.schemas import ERROR_DESCRIPTIONS, ErrorBody

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
# FastAPI's own 422 body: the app's handler (app/errors.py) answers with an ErrorBody instead.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def install_openapi(app: FastAPI) -> None:
    generate = app.openapi  # FastAPI's generator; it caches its result on the app

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not schema.get("x-tandem-errors"):
            add_error_responses(schema)
            schema["x-tandem-errors"] = True
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def expected_error_statuses(operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation documents (the contract test checks the same)."""
    parameters = operation.get("parameters", [])
    statuses = {503}
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses.add(413)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if operation.get("security"):
        statuses.update({401, 403})
    return statuses


def add_error_responses(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorBody"] = error_schema
    for path_item in schema.get("paths", {}).values():
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if _is_fastapi_validation_error(responses.get("422")):
                del responses["422"]
            for status in sorted(expected_error_statuses(operation)):
                responses.setdefault(str(status), {
                    "description": ERROR_DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": ERROR_REF}},
                })
    if not _mentions(schema["paths"], "#/components/schemas/HTTPValidationError"):
        for name in _FASTAPI_VALIDATION_SCHEMAS:
            components.pop(name, None)


def _is_fastapi_validation_error(response: dict[str, Any] | None) -> bool:
    if response is None:
        return False
    ref = (response.get("content", {}).get("application/json", {})
           .get("schema", {}).get("$ref", ""))
    return ref.endswith("/HTTPValidationError")


def _mentions(node: object, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_mentions(v, ref) for v in node.values())
    if isinstance(node, list):
        return any(_mentions(v, ref) for v in node)
    return False
