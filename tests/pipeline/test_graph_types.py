"""The tracer's typed dicts and the schema's pydantic models describe the same JSON, key for key."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from gradtrace import schema
from gradtrace.core import graph_types as types

PAIRS: list[tuple[Any, type[BaseModel]]] = [
    (types.SpanDict, schema.SpanModel),
    (types.StatsDict, schema.Stats),
    (types.GridDict, schema.Grid),
    (types.SummaryDict, schema.Summary),
    (types.SavedValueDict, schema.SavedValue),
    (types.ChainStepDict, schema.ChainStep),
    (types.TensorNodeDict, schema.TensorNode),
    (types.OpNodeDict, schema.OpNode),
    (types.EdgeDict, schema.Edge),
    (types.NoteDict, schema.Note),
    (types.PassLeafDict, schema.PassLeaf),
    (types.BackwardPassDict, schema.BackwardPass),
    (types.UpdateDetailDict, schema.UpdateDetail),
    (types.UpdateDict, schema.Update),
    (types.IterationDict, schema.Iteration),
    (types.GraphDict, schema.GraphModel),
]


def _json_keys(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


@pytest.mark.parametrize(("typed", "model"), PAIRS, ids=[m.__name__ for _, m in PAIRS])
def test_typed_dict_has_the_schema_keys(typed: Any, model: type[BaseModel]) -> None:
    assert set(typed.__annotations__) == _json_keys(model)
    # what the schema requires, the typed dict requires too
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    assert {model.model_fields[n].alias or n for n in required} <= set(typed.__required_keys__)


def test_schema_version_has_one_source() -> None:
    assert schema.SCHEMA_VERSION == types.SCHEMA_VERSION
