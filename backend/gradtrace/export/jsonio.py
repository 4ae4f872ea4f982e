"""The graph as JSON bytes: orjson, because the 50,000-node graphs are several MB."""

from __future__ import annotations

from typing import Any

import orjson


def to_json_bytes(graph: dict[str, Any], *, indent: bool = False) -> bytes:
    """Serialise the graph dict; NaN and ±Inf already are strings in it (see the tracer)."""
    return orjson.dumps(graph, option=orjson.OPT_INDENT_2 if indent else 0)
