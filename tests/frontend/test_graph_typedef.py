"""The frontend's JSDoc typedef of the graph (frontend/src/graph/types.js) against the JSON
Schema the server publishes at /api/schema: every model has a typedef of the same name and
every property of it appears there, and the typedef names no property the schema lacks.
A field added to schema.py without the frontend knowing of it fails here, by name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gradtrace.api import create_app
from gradtrace.service import Settings

TYPES_JS = Path(__file__).resolve().parents[2] / "frontend" / "src" / "graph" / "types.js"
TYPEDEF = re.compile(r"@typedef\s+\{object\}\s+(\w+)(.*?)\*/", re.S)
PROPERTY = re.compile(r"@property\s+\{[^}]*\}\s+\[?(\w+)")


def typedefs() -> dict[str, set[str]]:
    """typedef name -> its property names, read off the JSDoc comments."""
    text = TYPES_JS.read_text("utf-8")
    return {name: set(PROPERTY.findall(body)) for name, body in TYPEDEF.findall(text)}


@pytest.fixture(scope="module")
def schema_models() -> dict[str, set[str]]:
    """model name -> property names, from the running app's /api/schema."""
    # Without ``with`` the app's lifespan (its worker pool) does not start: the schema needs none.
    schema: dict[str, Any] = TestClient(create_app(Settings(workers=1))).get("/api/schema").json()
    models = {str(schema["title"]): set(schema["properties"])}
    for name, definition in schema.get("$defs", {}).items():
        if "properties" in definition:
            models[name] = set(definition["properties"])
    return models


def test_every_model_of_the_schema_has_a_typedef(schema_models: dict[str, set[str]]) -> None:
    missing = sorted(set(schema_models) - set(typedefs()))
    assert missing == [], f"no @typedef in types.js for: {missing}"


def test_every_property_of_every_model_is_in_its_typedef(schema_models: dict[str, set[str]]) -> None:
    typed = typedefs()
    missing = {name: sorted(props - typed.get(name, set())) for name, props in schema_models.items()}
    assert {k: v for k, v in missing.items() if v} == {}


def test_the_typedef_names_no_property_the_schema_lacks(schema_models: dict[str, set[str]]) -> None:
    typed = typedefs()
    extra = {name: sorted(typed[name] - props) for name, props in schema_models.items() if name in typed}
    assert {k: v for k, v in extra.items() if v} == {}
