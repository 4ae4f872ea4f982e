"""The graph's JSON says each summary once: what another field already says is left out.

The graph dict shares summary objects between the places that show them: a gradient is
the tensor's ``grad`` and the edge it flowed along; a saved tensor is often a node's
value; a single pass reads the leaves' own values. The wire form leaves out a field when
a rule below gives it back exactly, and ``expand`` (here, and ``graph/wire.js`` in the
browser) puts it back:

- an ``input`` edge without ``grad``: its source tensor's ``grad``;
- a ``saved`` item with ``value_of`` and no ``summary``: that tensor node's ``value`` (the
  saved tensor reads the same: often it is that tensor);
- a pass's leaf without ``value``: the node's ``value``; without ``grad`` or
  ``grad_after``: the node's ``grad``.

Each field is left out only when its rule gives back an equal value; where the rule
would invent a value the field did not have, the field is written as ``null``. So
``expand(compact(g))`` equals ``g`` up to fields that are ``null`` or missing.
"""

from __future__ import annotations

from typing import Any

import orjson

Dict = dict[str, Any]


def compact(graph: Dict) -> Dict:
    """The wire form of a graph dict: a new dict, sharing everything it does not change."""
    if "nodes" not in graph or "edges" not in graph:
        return graph
    nodes: dict[str, Dict] = {n["id"]: n for n in graph["nodes"]}
    out = dict(graph)
    out["edges"] = [_compact_edge(e, nodes) for e in graph["edges"]]
    if any("saved" in n for n in graph["nodes"]):
        owners = _value_owners(graph["nodes"])
        out["nodes"] = [_compact_saved(n, owners) if "saved" in n else n for n in graph["nodes"]]
    if graph.get("backward_passes"):
        out["backward_passes"] = [_compact_pass(p, nodes) for p in graph["backward_passes"]]
    return out


def expand(graph: Dict) -> Dict:
    """Puts back, in place, what ``compact`` left out; a full graph is returned unchanged."""
    if "nodes" not in graph or "edges" not in graph:
        return graph
    nodes: dict[str, Dict] = {n["id"]: n for n in graph["nodes"]}
    for edge in graph["edges"]:
        if edge["kind"] == "input" and "grad" not in edge:
            _fill(edge, "grad", nodes.get(edge["source"], {}).get("grad"))
    for node in graph["nodes"]:
        for item in node.get("saved") or ():
            if "value_of" in item:
                _fill(item, "summary", nodes.get(item.pop("value_of"), {}).get("value"))
    for p in graph.get("backward_passes") or ():
        for leaf in p.get("leaves") or ():
            owner = nodes.get(leaf["node"], {})
            _fill(leaf, "value", owner.get("value"))
            _fill(leaf, "grad", owner.get("grad"))
            _fill(leaf, "grad_after", owner.get("grad"))
    return graph


# -- the rules -------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    return a is b or a == b


def _compact_edge(edge: Dict, nodes: dict[str, Dict]) -> Dict:
    if edge["kind"] != "input":
        return edge
    return _without(edge, "grad", nodes.get(edge["source"], {}).get("grad"))


def _without(item: Dict, key: str, implied: Any) -> Dict:
    """``item`` without ``key`` when ``implied`` gives it back, with ``key: null`` when
    ``implied`` would invent one, else unchanged."""
    if key in item:
        if item[key] is None and implied is not None:
            return item
        if _same(item[key], implied):
            return {k: v for k, v in item.items() if k != key}
        return item
    if implied is None:
        return item
    return {**item, key: None}


def _compact_saved(op: Dict, owners: dict[bytes, str]) -> Dict:
    saved = [_saved_ref(item, owners) for item in op["saved"]]
    if all(a is b for a, b in zip(saved, op["saved"], strict=True)):
        return op
    return {**op, "saved": saved}


def _value_owners(nodes: list[Dict]) -> dict[bytes, str]:
    """Tensor nodes by the JSON of their value: a saved tensor is often a node's value."""
    owners: dict[bytes, str] = {}
    for n in nodes:
        value = n.get("value") if n["kind"] == "tensor" else None
        if value:
            owners.setdefault(orjson.dumps(value), n["id"])
    return owners


def _saved_ref(item: Dict, owners: dict[bytes, str]) -> Dict:
    summary = item.get("summary")
    if not summary or "value_of" in item:
        return item
    owner = owners.get(orjson.dumps(summary))
    if owner is None:
        return item
    return {**{k: v for k, v in item.items() if k != "summary"}, "value_of": owner}


def _compact_pass(p: Dict, nodes: dict[str, Dict]) -> Dict:
    leaves = p.get("leaves")
    if not leaves:
        return p
    out = []
    for leaf in leaves:
        owner = nodes.get(leaf["node"], {})
        leaf = _without(leaf, "value", owner.get("value"))
        leaf = _without(leaf, "grad", owner.get("grad"))
        out.append(_without(leaf, "grad_after", owner.get("grad")))
    return {**p, "leaves": out}


def _fill(item: Dict, key: str, implied: Any) -> None:
    if key not in item and implied is not None:
        item[key] = implied
