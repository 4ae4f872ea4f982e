"""Serialisers: what each format must carry, read back with an independent parser where one exists."""

from __future__ import annotations

import json
import re
from typing import Any

import networkx as nx
import pytest
import torch

from gradtrace.export import to_dot, to_graphml, to_html, to_json_bytes, to_networkx, to_node_link
from gradtrace.tracer import trace_tensor


@pytest.fixture(scope="module")
def graph() -> dict[str, Any]:
    x = torch.tensor(3.0, requires_grad=True)
    c = torch.tensor(float("nan"))
    return trace_tensor(x * x + torch.where(c > 0, c, x), params={'the "x"': x})


def test_json_bytes_round_trip_with_nan_as_strings() -> None:
    x = torch.tensor([1.0, 0.0], requires_grad=True)
    graph = trace_tensor(torch.log(x).sum())
    text = to_json_bytes(graph).decode()
    assert '"-Infinity"' in text or '"Infinity"' in text
    assert json.loads(text) == json.loads(to_json_bytes(graph, indent=True))


def test_dot_reads_like_torchviz(graph: dict[str, Any]) -> None:
    dot = to_dot(graph)
    assert dot.startswith("digraph {") and dot.rstrip().endswith("}")
    lines = dot.splitlines()
    node_lines = [ln for ln in lines if re.match(r"^\t(t|op)\d+ \[label=", ln)]
    edge_lines = [ln for ln in lines if " -> " in ln]
    assert len(node_lines) == len(graph["nodes"]) and len(edge_lines) == len(graph["edges"])
    leaf = next(ln for ln in node_lines if "is_leaf" not in ln and 'the \\"x\\"' in ln)
    assert "fillcolor=lightblue" in leaf and "value=3" in leaf and "grad=7" in leaf
    assert all("fillcolor=lightgrey" in ln for ln in node_lines if ln.startswith("\top"))
    out = graph["output"]
    assert "fillcolor=darkolivegreen1" in next(ln for ln in node_lines if ln.startswith(f"\t{out} "))
    assert any('label="1×3=3"' in ln or "label=" in ln for ln in edge_lines)


def test_networkx_keeps_every_node_and_merges_parallel_edges(graph: dict[str, Any]) -> None:
    g = to_networkx(graph)
    assert g.number_of_nodes() == len(graph["nodes"])
    pairs = {(e["source"], e["target"]) for e in graph["edges"]}
    assert g.number_of_edges() == len(pairs)
    assert any("parallel" in attrs for _, _, attrs in g.edges(data=True))  # x * x
    assert nx.is_directed_acyclic_graph(g)
    assert g.graph["output"] == graph["output"]


def test_graphml_and_node_link_read_back(graph: dict[str, Any]) -> None:
    g = nx.parse_graphml(to_graphml(graph))
    assert g.number_of_nodes() == len(graph["nodes"])
    leaf = next(n for n in graph["nodes"] if n.get("is_leaf") and n.get("requires_grad"))
    assert json.loads(g.nodes[leaf["id"]]["grad"])["data"] == 7.0
    data = to_node_link(graph)
    assert json.loads(json.dumps(data))["nodes"]


def test_html_is_an_svg_or_a_note_when_too_big(graph: dict[str, Any]) -> None:
    html = to_html(graph)
    assert "<svg" in html and html.count("<rect") == len(graph["nodes"])
    big = {**graph, "nodes": graph["nodes"] * 200}
    assert "<svg" not in to_html(big)
