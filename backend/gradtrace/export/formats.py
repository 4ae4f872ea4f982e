"""The one table of export formats: name, media type, file suffix and serialiser of each.

The web API, the command line and ``Graph.to_*`` / ``Graph.save`` all read this table, so a
format gives the same bytes whichever way it is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from gradtrace.export.dot import to_dot
from gradtrace.export.jsonio import to_json_bytes
from gradtrace.export.nx import to_graphml, to_node_link
from gradtrace.export.wire import expand

FormatName = Literal["json", "dot", "graphml", "node-link"]


def _dot_bytes(graph: dict[str, Any]) -> bytes:
    return to_dot(graph).encode("utf-8")


def _graphml_bytes(graph: dict[str, Any]) -> bytes:
    return to_graphml(graph).encode("utf-8")


def _node_link_bytes(graph: dict[str, Any]) -> bytes:
    """networkx's node-link dict; attribute values it cannot name as JSON become their text."""
    return orjson.dumps(to_node_link(graph), default=str,
                        option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


@dataclass(frozen=True, slots=True)
class Format:
    """``extension`` is the file suffix without its dot; every format here is UTF-8 text."""

    name: FormatName
    media_type: str
    extension: str
    serialise: Callable[[dict[str, Any]], bytes]
    text: bool = True


FORMATS: dict[str, Format] = {
    "json": Format("json", "application/json", "json", to_json_bytes),
    "dot": Format("dot", "text/vnd.graphviz; charset=utf-8", "dot", _dot_bytes),
    "graphml": Format("graphml", "application/graphml+xml; charset=utf-8", "graphml", _graphml_bytes),
    "node-link": Format("node-link", "application/json", "node-link.json", _node_link_bytes),
}


def format_for_path(path: str) -> Format:
    """The format a file name asks for (``out.dot`` → dot); JSON when unknown.

    The longest suffix wins, so ``g.node-link.json`` is node-link, not JSON.
    """
    lower = path.lower()
    by_length = sorted(FORMATS.values(), key=lambda fmt: len(fmt.extension), reverse=True)
    for fmt in by_length:
        if lower.endswith("." + fmt.extension):
            return fmt
    return FORMATS["json"]


def render(graph: dict[str, Any], fmt: str) -> bytes:
    """Serialise a graph dict in a format of the table; an unknown name is an error."""
    table_row = FORMATS.get(fmt)
    if table_row is None:
        raise ValueError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    return table_row.serialise(graph)


def render_json(graph_json: bytes, fmt: str) -> bytes:
    """A format of a graph held as its JSON bytes (the web service keeps the worker's).

    That JSON is compact (``gradtrace.export.wire``): it is expanded before rendering, so a
    DOT, GraphML or node-link file of it is the one the graph itself gives.
    """
    if fmt == "json":
        return graph_json
    return render(expand(orjson.loads(graph_json)), fmt)
