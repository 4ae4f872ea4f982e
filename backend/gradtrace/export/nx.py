"""networkx views of the graph: a DiGraph, node-link JSON and GraphML.

Node and edge attributes are the JSON objects' keys. GraphML holds only scalar
attributes, so there the nested ones (value, grad, saved, ...) are JSON strings.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import orjson

_GRAPH_KEYS = ("schema_version", "device", "output", "variables", "forward_order", "backward_order")


def to_networkx(graph: dict[str, Any]) -> nx.DiGraph:
    """A ``DiGraph`` in data-flow direction; parallel edges (x*x) are merged, their slots listed."""
    g = nx.DiGraph(**{k: graph[k] for k in _GRAPH_KEYS if k in graph})
    for node in graph["nodes"]:
        g.add_node(node["id"], **{k: v for k, v in node.items() if k != "id"})
    for edge in graph["edges"]:
        u, v = edge["source"], edge["target"]
        attrs = {k: val for k, val in edge.items() if k not in ("source", "target")}
        if g.has_edge(u, v):
            g.edges[u, v].setdefault("parallel", []).append(attrs)
        else:
            g.add_edge(u, v, **attrs)
    return g


def to_node_link(graph: dict[str, Any]) -> dict[str, Any]:
    """networkx's node-link JSON (``nodes`` and ``edges`` lists)."""
    data: dict[str, Any] = nx.node_link_data(to_networkx(graph), edges="edges")
    return data


def _scalar(value: Any) -> Any:
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


def to_graphml(graph: dict[str, Any]) -> str:
    """GraphML text; nested attributes become JSON strings, None-valued ones are dropped."""
    g = to_networkx(graph)
    flat = nx.DiGraph(**{k: _scalar(v) for k, v in g.graph.items()})
    for n, attrs in g.nodes(data=True):
        flat.add_node(n, **{k: _scalar(v) for k, v in attrs.items() if v is not None})
    for u, v, attrs in g.edges(data=True):
        flat.add_edge(u, v, **{k: _scalar(val) for k, val in attrs.items() if val is not None})
    return "\n".join(nx.generate_graphml(flat))
