"""The graph as JSON bytes: orjson, because the 50,000-node graphs are several MB."""

from __future__ import annotations

from typing import Any

import orjson

from gradtrace.export.wire import compact as compact_graph


def to_json_bytes(graph: dict[str, Any], *, indent: bool = False, compact: bool = True) -> bytes:
    """Serialise the graph dict; NaN and ±Inf already are strings in it (see the tracer).

    ``compact`` (the default) writes what another field already says once
    (``gradtrace.export.wire``); ``wire.expand`` on the parsed JSON gives the dict back.
    """
    data = compact_graph(graph) if compact else graph
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 if indent else 0)
