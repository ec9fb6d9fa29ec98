"""docs/api.md's examples stay true to /openapi.json: every JSON answer shown after a `curl`
is checked against the response schema of the operation that curl calls (each field shown
exists there, with a value of its type), and the error example against ErrorBody.

`…` in an example stands for what was left out (more fields, the rest of a string).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
CURL = re.compile(r"curl\b.*?(?:-X\s+(?P<method>[A-Z]+)\s+)?'?(?:https?://[^/\s]+)(?P<path>/[^\s'?]*)",
                  re.DOTALL)
TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
         "array": list, "object": dict}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return create_app().openapi()


def without_elisions(example: str) -> str:
    """The example as JSON: `…` outside strings (and the comma before it) removed."""
    out: list[str] = []
    in_string = escaped = False
    for char in example:
        if in_string:
            in_string = not (char == '"' and not escaped)
            escaped = char == "\\" and not escaped
        elif char == '"':
            in_string = True
        elif char == "…":
            while out and out[-1] in " \n":
                out.pop()
            if out and out[-1] == ",":
                out.pop()
            continue
        out.append(char)
    return "".join(out)


def documented_examples() -> list[tuple[str | None, str, Any]]:
    """(method and path template, or None for the error body; the example's position; JSON)."""
    text = DOC.read_text()
    blocks = list(BLOCK.finditer(text))
    examples: list[tuple[str | None, str, Any]] = []
    for i, block in enumerate(blocks):
        if block.group(1) != "json":
            continue
        line = text[:block.start()].count("\n") + 1
        request = None
        if i and blocks[i - 1].group(1) == "sh" and (m := CURL.search(blocks[i - 1].group(2))):
            request = f"{m.group('method') or 'GET'} {m.group('path')}"
        examples.append((request, f"docs/api.md:{line}", json.loads(without_elisions(
            block.group(2)))))
    return examples


def _operation(schema: dict[str, Any], request: str) -> dict[str, Any]:
    method, path = request.split(" ", 1)
    for template, item in schema["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return item[method.lower()]
    raise AssertionError(f"{request} is not an operation of /openapi.json")


def mismatches(value: Any, node: dict[str, Any], components: dict[str, Any],
               where: str) -> list[str]:
    """Where `value` does not fit the schema `node` (fields it lacks may be left out)."""
    if "$ref" in node:
        return mismatches(value, components[node["$ref"].rsplit("/", 1)[-1]], components, where)
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        found = [mismatches(value, option, components, where) for option in options]
        return [] if any(not f for f in found) else min(found, key=len)
    if "allOf" in node:
        return [p for part in node["allOf"] for p in mismatches(value, part, components, where)]
    kind = node.get("type")
    if kind == "null":
        return [] if value is None else [f"{where}: expected null"]
    if kind and not (isinstance(value, TYPES[kind]) and not (
            kind in ("integer", "number") and isinstance(value, bool))):
        return [f"{where}: {value!r} is not {kind}"]
    if "enum" in node and value not in node["enum"]:
        return [f"{where}: {value!r} is not one of {node['enum']}"]
    problems: list[str] = []
    if isinstance(value, dict) and "properties" in node:
        for key, item in value.items():
            if key not in node["properties"]:
                problems.append(f"{where}.{key}: not in the schema")
            else:
                problems += mismatches(item, node["properties"][key], components,
                                       f"{where}.{key}")
    elif isinstance(value, dict) and isinstance(node.get("additionalProperties"), dict):
        for key, item in value.items():
            problems += mismatches(item, node["additionalProperties"], components,
                                   f"{where}.{key}")
    if isinstance(value, list) and "items" in node:
        for n, item in enumerate(value):
            problems += mismatches(item, node["items"], components, f"{where}[{n}]")
    return problems


def test_every_example_answer_fits_its_operations_schema(schema):
    components = schema["components"]["schemas"]
    examples = documented_examples()
    assert len(examples) >= 4
    problems: list[str] = []
    for request, where, example in examples:
        if request is None:
            problems += mismatches(example, {"$ref": "#/components/schemas/ErrorBody"},
                                   components, where)
            continue
        responses = _operation(schema, request)["responses"]
        success = next(r for code, r in sorted(responses.items()) if code.startswith("2"))
        body_schema = success["content"]["application/json"]["schema"]
        problems += mismatches(example, body_schema, components, f"{where} ({request})")
    assert not problems, "\n".join(problems)


def test_the_check_notices_a_field_the_api_does_not_have(schema):
    components = schema["components"]["schemas"]
    error = {"$ref": "#/components/schemas/ErrorBody"}
    assert mismatches({"code": "not_found", "message": "x"}, error, components, "e") == []
    assert mismatches({"code": "not_found", "reason": "x"}, error, components, "e") == [
        "e.reason: not in the schema"]
    assert mismatches({"code": 404}, error, components, "e") == ["e.code: 404 is not string"]
    assert json.loads(without_elisions('{"a": [1, …], "b": "x…", …}')) == {"a": [1], "b": "x…"}
