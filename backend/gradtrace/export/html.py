"""A self-contained HTML/SVG drawing of the graph, for Jupyter and offline use.

No server, no scripts: nodes are laid out in layers (longest path from the
sources, leaves on top and the output at the bottom, as torchviz draws it),
each box shows the value and gradient, and hovering shows every detail.
"""

from __future__ import annotations

from html import escape
from typing import Any

from gradtrace.export.text import number_text, summary_text

MAX_NODES = 400
BOX_W, GAP_X, ROW_H = 168, 16, 78
_FILL = {
    "op": "#e4e4e4",
    "leaf": "#add8e6",
    "param": "#add8e6",
    "output": "#caff70",
    "constant": "#ffffff",
    "intermediate": "#f7f7f7",
}


def _layers(graph: dict[str, Any]) -> dict[str, int]:
    """Longest-path layer of each node (edges go from sources towards the output)."""
    preds: dict[str, list[str]] = {n["id"]: [] for n in graph["nodes"]}
    for e in graph["edges"]:
        preds[e["target"]].append(e["source"])
    layer: dict[str, int] = {}
    for start in preds:
        stack = [start]
        while stack:
            node = stack[-1]
            if node in layer:
                stack.pop()
                continue
            todo = [p for p in preds[node] if p not in layer]
            if todo:
                stack.extend(todo)
                continue
            layer[node] = 1 + max((layer[p] for p in preds[node]), default=-1)
            stack.pop()
    return layer


def _lines(node: dict[str, Any]) -> list[str]:
    if node["kind"] == "op":
        saved = [f"{s['name']}={s.get('value', '…')}" for s in node.get("saved", []) if "value" in s]
        return [node["op"], *saved[:1]]
    shape = "×".join(str(s) for s in node["shape"]) or "scalar"
    lines = [f"{node.get('name') or node['role']} ({shape})", f"value {summary_text(node.get('value'))}"]
    if node.get("grad"):
        lines.append(f"grad {summary_text(node['grad'])}")
    return lines


def _tooltip(node: dict[str, Any]) -> str:
    keys = ("id", "op", "name", "role", "shape", "dtype", "device", "module", "sequence_nr")
    parts = [f"{k}: {node[k]}" for k in keys if node.get(k) is not None]
    for key in ("value", "grad"):
        if node.get(key):
            parts.append(f"{key}: {summary_text(node[key])}")
    return "\n".join(parts)


def _box(node: dict[str, Any], x: float, y: float) -> str:
    lines = _lines(node)
    h = 16 + 14 * len(lines)
    fill = _FILL["op" if node["kind"] == "op" else node.get("role", "intermediate")]
    rx = 3 if node["kind"] == "op" else 10
    texts = "".join(
        f'<text x="{x + 6}" y="{y + 15 + 14 * i}">{escape(line[:26])}</text>' for i, line in enumerate(lines)
    )
    return (
        f'<g><title>{escape(_tooltip(node))}</title><rect x="{x}" y="{y}" width="{BOX_W}" height="{h}" '
        f'rx="{rx}" fill="{fill}" stroke="#666"/>{texts}</g>'
    )


def _edge(edge: dict[str, Any], a: tuple[float, float], b: tuple[float, float]) -> str:
    dash = ' stroke-dasharray="4 3"' if edge["kind"] == "cut" else ""
    line = (
        f'<line x1="{a[0]}" y1="{a[1]}" x2="{b[0]}" y2="{b[1]}" stroke="#888" '
        f'marker-end="url(#gt-arrow)"{dash}/>'
    )
    chain = edge.get("chain")
    label = ""
    if chain:
        up, local, product = (number_text(chain[k]) for k in ("upstream", "local", "product"))
        label = f"{up}×{local}={product}"
    elif edge.get("grad"):
        label = summary_text(edge["grad"])
    if not label:
        return line
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    return line + f'<text x="{mx + 4}" y="{my}" fill="#b03030">{escape(label[:28])}</text>'


def to_html(graph: dict[str, Any]) -> str:
    """An HTML snippet with an SVG of the graph (or a short text for very large graphs)."""
    nodes = graph["nodes"]
    if len(nodes) > MAX_NODES:
        return (
            f"<p>gradtrace graph: {len(nodes)} nodes, {len(graph['edges'])} edges — too many to draw "
            "inline; open it in the web app or export it with <code>to_dot()</code>.</p>"
        )
    layer = _layers(graph)
    rows: dict[int, list[dict[str, Any]]] = {}
    for n in nodes:
        rows.setdefault(layer[n["id"]], []).append(n)
    width = max((len(r) for r in rows.values()), default=1) * (BOX_W + GAP_X) + GAP_X
    pos: dict[str, tuple[float, float]] = {}
    for depth, row in rows.items():
        offset = (width - len(row) * (BOX_W + GAP_X)) / 2
        for i, n in enumerate(row):
            pos[n["id"]] = (offset + i * (BOX_W + GAP_X) + GAP_X / 2, 10 + depth * ROW_H)
    height = 10 + (max(rows, default=0) + 1) * ROW_H
    heights = {n["id"]: 16 + 14 * len(_lines(n)) for n in nodes}

    def bottom(node_id: str) -> tuple[float, float]:
        return pos[node_id][0] + BOX_W / 2, pos[node_id][1] + heights[node_id]

    def top(node_id: str) -> tuple[float, float]:
        return pos[node_id][0] + BOX_W / 2, pos[node_id][1]

    edges = "".join(_edge(e, bottom(e["source"]), top(e["target"])) for e in graph["edges"])
    boxes = "".join(_box(n, *pos[n["id"]]) for n in nodes)
    notes = "".join(f"<li>{escape(n['message'].get('en', ''))}</li>" for n in graph.get("notes", []))
    return (
        f'<div class="gradtrace"><svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="monospace" font-size="11"><defs><marker id="gt-arrow" viewBox="0 0 10 10" refX="10" '
        f'refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#888"/>'
        f"</marker></defs>{edges}{boxes}</svg>{f'<ul>{notes}</ul>' if notes else ''}</div>"
    )
