"""Export formats: the query value, the content type and the file extension of each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FormatName = Literal["json", "dot", "graphml", "node-link"]


@dataclass(frozen=True, slots=True)
class Format:
    name: FormatName
    media_type: str
    extension: str


FORMATS: dict[str, Format] = {
    "json": Format("json", "application/json", "json"),
    "dot": Format("dot", "text/vnd.graphviz; charset=utf-8", "dot"),
    "graphml": Format("graphml", "application/graphml+xml; charset=utf-8", "graphml"),
    "node-link": Format("node-link", "application/json", "node-link.json"),
}


def format_for_path(path: str) -> Format:
    """The format a file name asks for (``out.dot`` → dot); JSON when unknown."""
    lower = path.lower()
    if lower.endswith(".node-link.json"):
        return FORMATS["node-link"]
    for fmt in FORMATS.values():
        if lower.endswith("." + fmt.extension):
            return fmt
    return FORMATS["json"]


def render(graph: dict[str, Any], fmt: str) -> bytes:
    """Serialise a graph dict in one of the formats (the worker and the CLI both use this)."""
    import orjson

    from gradtrace import export

    if fmt == "dot":
        return export.to_dot(graph).encode("utf-8")
    if fmt == "graphml":
        return export.to_graphml(graph).encode("utf-8")
    if fmt == "node-link":
        return orjson.dumps(export.to_node_link(graph), default=str,
                            option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    return export.to_json_bytes(graph)
