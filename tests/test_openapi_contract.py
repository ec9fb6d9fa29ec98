"""/openapi.json is a contract a client can be generated from: every operation says what it
answers (a typed schema, not a free-form object), what it takes, which errors it gives (as an
ErrorBody) and, when it needs a staff login, how to present one.

A field may stay free-form only where its own schema says why (`x-free-form`), e.g. a
payload whose shape belongs to someone else (Rasa's tracker, a webhook event).
"""

from __future__ import annotations

from typing import Any

import pytest

from app.main import create_app
from tests.access_matrix import MATRIX, Allow

_METHODS = ("get", "put", "post", "delete", "patch")
ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return create_app().openapi()


def _operations(schema: dict[str, Any]):
    for path, item in schema["paths"].items():
        for method in _METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def free_form_at(node: Any, components: dict[str, Any], where: str,
                 seen: frozenset[str] = frozenset()) -> list[str]:
    """Where, inside one schema, an object has no declared shape and no reason for it."""
    if not isinstance(node, dict):
        return []
    if "x-free-form" in node:
        return []
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return free_form_at(components[name], components, name, seen | {name})
    found: list[str] = []
    if node.get("type") == "object" and not node.get("properties"):
        extra = node.get("additionalProperties")
        if extra in (None, True, {}):
            return [where]
        found += free_form_at(extra, components, f"{where}.*", seen)
    if not node and where.endswith("schema"):
        return [where]
    if "items" in node:
        found += free_form_at(node["items"], components, f"{where}[]", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in node.get(key, []):
            found += free_form_at(option, components, where, seen)
    for name, prop in node.get("properties", {}).items():
        found += free_form_at(prop, components, f"{where}.{name}", seen)
    return found


def contract_problems(schema: dict[str, Any]) -> list[str]:
    components = schema.get("components", {}).get("schemas", {})
    problems: list[str] = []
    for key, operation in _operations(schema):
        responses = operation.get("responses", {})
        successes = {code: r for code, r in responses.items() if code[0] in "23"}
        if not successes:
            problems.append(f"{key}: no success response")
        for code, response in successes.items():
            content = response.get("content")
            if not content and code not in ("204", "302", "303", "307"):
                problems.append(f"{key}: {code} declares no body")
            for media, body in (content or {}).items():
                body_schema = body.get("schema")
                if body_schema is None or (body_schema == {} and media == "application/json"):
                    problems.append(f"{key}: {code} {media} has no schema")
                    continue
                problems += [f"{key}: {code} free-form at {at}" for at in
                             free_form_at(body_schema, components, "response")]
        for body in operation.get("requestBody", {}).get("content", {}).values():
            problems += [f"{key}: request body free-form at {at}" for at in
                         free_form_at(body.get("schema", {}), components, "body")]
        for code, response in responses.items():
            if code[0] in "45":
                ref = (response.get("content", {}).get("application/json", {})
                       .get("schema", {}).get("$ref"))
                if ref != ERROR_REF:
                    problems.append(f"{key}: {code} is not an ErrorBody")
        if "503" not in responses:
            problems.append(f"{key}: 503 not documented")
        if "requestBody" in operation and "422" not in responses:
            problems.append(f"{key}: takes a body but documents no 422")
        rule = MATRIX.get(key)
        if isinstance(rule, Allow):
            if not operation.get("security"):
                problems.append(f"{key}: needs a staff login but declares no security")
            for status in ("401", "403"):
                if status not in responses:
                    problems.append(f"{key}: needs a staff login but documents no {status}")
    return problems


def test_every_operation_has_typed_responses_bodies_and_errors(schema):
    problems = contract_problems(schema)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_operation_ids_are_unique_so_a_client_can_be_generated(schema):
    ids = [operation.get("operationId") for _, operation in _operations(schema)]
    assert None not in ids
    assert len(ids) == len(set(ids))


def test_the_checker_finds_a_free_form_answer():
    """The check above could fail: a dict[str, Any] response is reported, a reasoned one not."""
    components = {"Shaped": {"type": "object", "properties": {
        "meta": {"type": "object", "additionalProperties": True}}}}
    assert free_form_at({"$ref": "#/components/schemas/Shaped"}, components, "response") == [
        "Shaped.meta"]
    components["Shaped"]["properties"]["meta"]["x-free-form"] = "the sender's own payload"
    assert free_form_at({"$ref": "#/components/schemas/Shaped"}, components, "response") == []
