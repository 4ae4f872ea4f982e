"""Graphviz DOT that reads like torchviz's ``make_dot``, with values and gradients.

Colours follow torchviz: leaves and parameters lightblue, autograd ops lightgrey,
the output darkolivegreen1; constants are white and cut (detach/no_grad) links
dashed. Intermediate tensors are small ellipses between ops, so the picture
still reads ``x → pow → add → y``.
"""

from __future__ import annotations

from typing import Any

from gradtrace.export.text import number_text, summary_text

_HEADER = (
    "digraph {\n"
    '\tgraph [size="12,12"]\n'
    "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]\n"
)
_FILL = {"leaf": "lightblue", "param": "lightblue", "output": "darkolivegreen1", "constant": "white"}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _tensor_label(node: dict[str, Any]) -> str:
    shape = "(" + ", ".join(str(s) for s in node["shape"]) + ")"
    head = f"{node['name']} {shape}" if node.get("name") else shape
    lines = [head, f"value={summary_text(node.get('value'))}"]
    if node.get("grad"):
        lines.append(f"grad={summary_text(node['grad'])}")
    return "\n".join(lines)


def _op_label(node: dict[str, Any]) -> str:
    lines = [node["op"]]
    for saved in node.get("saved", []):
        shown = summary_text(saved["summary"]) if saved.get("summary") else str(saved.get("value"))
        lines.append(f"{saved['name']}={shown}")
    return "\n".join(lines)


def _node_line(node: dict[str, Any]) -> str:
    if node["kind"] == "op":
        return f"\t{node['id']} [label={_quote(_op_label(node))} fillcolor=lightgrey]\n"
    role = node.get("role", "intermediate")
    label = _quote(_tensor_label(node))
    if role == "intermediate":
        return f"\t{node['id']} [label={label} shape=ellipse fillcolor=white fontsize=9]\n"
    return f"\t{node['id']} [label={label} fillcolor={_FILL[role]}]\n"


def _edge_line(edge: dict[str, Any]) -> str:
    attrs = []
    if edge["kind"] == "cut":
        attrs.append("style=dashed arrowhead=tee")
    chain = edge.get("chain")
    if chain:
        up, local, product = (number_text(chain[k]) for k in ("upstream", "local", "product"))
        attrs.append(f"label={_quote(f'{up}×{local}={product}')}")
    elif edge.get("grad"):
        attrs.append(f"label={_quote('grad ' + summary_text(edge['grad']))}")
    tail = f" [{' '.join(attrs)}]" if attrs else ""
    return f"\t{edge['source']} -> {edge['target']}{tail}\n"


def to_dot(graph: dict[str, Any]) -> str:
    """DOT source of the graph (render with ``dot -Tsvg``)."""
    parts = [_HEADER]
    parts.extend(_node_line(n) for n in graph["nodes"])
    parts.extend(_edge_line(e) for e in graph["edges"])
    parts.append("}\n")
    return "".join(parts)
