"""Our graph against oracles that do not use our code, on hundreds of generated programs.

- every leaf gradient equals ``torch.autograd.grad`` on an identical rerun;
- the autograd nodes and edges equal those of an independent ``next_functions`` walk;
- the op nodes and edges equal those in ``torchviz.make_dot``'s graph.

Ops are matched by ``sequence_nr`` (unique per node in one thread; counted, like
ours, from the graph's first op) and AccumulateGrad nodes by the name of their leaf.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
import torch
import torchviz
from hypothesis import given, settings
from hypothesis import strategies as st
from tracer_programs import OPS, Step, make_leaves, run

import gradtrace
from gradtrace.schema import GraphModel

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchviz")

steps_strategy = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=14
)

Key = tuple[str, Any]


def _key(fn: Any, names: dict[int, str], first: int = 0) -> Key:
    if type(fn).__name__ == "AccumulateGrad":
        return ("acc", names[id(fn.variable)])
    return ("op", fn._sequence_nr() - first)


def _first(fns: list[Any]) -> int:
    return min((fn._sequence_nr() for fn in fns if type(fn).__name__ != "AccumulateGrad"), default=0)


Walked = tuple[Counter[Key], Counter[Any], list[Any]]


def independent_walk(out: torch.Tensor, names: dict[int, str]) -> Walked:
    """Node classes and edges (consumer, input_nr, producer, output_nr) straight from torch."""
    seen: set[Any] = set()
    keep: list[Any] = []
    stack = [out.grad_fn]
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        keep.append(fn)
        stack.extend(child for child, _nr in fn.next_functions if child is not None)
    first = _first(keep)
    nodes: Counter[Key] = Counter((*_key(fn, names, first), type(fn).__name__) for fn in keep)
    edges: Counter[Any] = Counter(
        (_key(fn, names, first), i, _key(child, names, first), nr)
        for fn in keep
        for i, (child, nr) in enumerate(fn.next_functions)
        if child is not None
    )
    return nodes, edges, keep


def our_structure(graph: dict[str, Any]) -> tuple[Counter[Key], Counter[Any]]:
    by_id = {n["id"]: n for n in graph["nodes"]}
    first = min((n["sequence_nr"] for n in graph["nodes"] if n.get("sequence_nr") is not None), default=0)

    def op_key(op: dict[str, Any]) -> Key:
        if op["op"] == "AccumulateGrad":
            return ("acc", by_id[op["variable"]]["name"])
        return ("op", op["sequence_nr"] - first)  # from the first op of the part compared

    nodes = Counter((*op_key(n), n["op"]) for n in graph["nodes"] if n["kind"] == "op")
    edges: Counter[Any] = Counter()
    for e in graph["edges"]:
        if e["kind"] != "input" or not by_id[e["source"]].get("grad_fn"):
            continue
        tensor = by_id[e["source"]]
        producer = by_id[tensor["grad_fn"]]
        consumer = op_key(by_id[e["target"]])
        edges[(consumer, e.get("slot", 0), op_key(producer), tensor.get("output_nr", 0))] += 1
    return nodes, edges


def output_part(graph: dict[str, Any]) -> dict[str, Any]:
    """Only what the output depends on: a capture also shows the islands detach/no_grad cut off."""
    into: dict[str, list[str]] = {}
    for e in graph["edges"]:
        if e["kind"] != "cut":
            into.setdefault(e["target"], []).append(e["source"])
    keep, stack = set(), [graph["output"]]
    while stack:
        node = stack.pop()
        if node not in keep:
            keep.add(node)
            stack.extend(into.get(node, []))
    return {
        **graph,
        "nodes": [n for n in graph["nodes"] if n["id"] in keep],
        "edges": [e for e in graph["edges"] if e["target"] in keep],
    }


def _names(leaves: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"l{i}": leaf for i, leaf in enumerate(leaves)}


@settings(max_examples=250, deadline=None)
@given(steps=steps_strategy, seed=st.integers(0, 2**16))
def test_leaf_grads_equal_autograd_grad(steps: list[Step], seed: int) -> None:
    leaves = make_leaves(seed)
    graph = gradtrace.trace(run(steps, leaves), params=_names(leaves)).data
    GraphModel.model_validate(graph)

    again = make_leaves(seed)
    expected = torch.autograd.grad(run(steps, again), again, allow_unused=True, materialize_grads=True)
    ours = {n.get("name"): n for n in graph["nodes"] if n["kind"] == "tensor" and n.get("is_leaf")}
    for i, want in enumerate(expected):
        node = ours.get(f"l{i}")
        if node is None:  # the output does not depend on this leaf
            assert not want.abs().sum()
            continue
        got = torch.tensor(node["grad"]["data"])
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(leaves[i].grad, want, rtol=1e-5, atol=1e-6)  # .grad as if by backward()


@settings(max_examples=250, deadline=None)
@given(steps=steps_strategy, seed=st.integers(0, 2**16))
def test_nodes_and_edges_equal_an_independent_walk(steps: list[Step], seed: int) -> None:
    leaves = make_leaves(seed)
    out = run(steps, leaves)
    names = {id(t): n for n, t in _names(leaves).items()}
    want_nodes, want_edges, _keep = independent_walk(out, names)
    graph = gradtrace.trace(out, params=_names(leaves)).data
    nodes, edges = our_structure(graph)
    assert nodes == want_nodes
    assert edges == want_edges


_NODE = re.compile(r"^\t(\d+) \[label=")
_EDGE = re.compile(r"^\t(\d+) -> (\d+)")


@settings(max_examples=150, deadline=None)
@given(steps=steps_strategy, seed=st.integers(0, 2**16))
def test_op_nodes_and_edges_equal_torchviz(steps: list[Step], seed: int) -> None:
    leaves = make_leaves(seed)
    out = run(steps, leaves)
    params = _names(leaves)
    names = {id(t): n for n, t in params.items()}
    _n, _e, keep = independent_walk(out, names)  # holds the nodes so their ids stay theirs
    fn_keys = {str(id(fn)): _key(fn, names, _first(keep)) for fn in keep}
    dot = torchviz.make_dot(out, params=params)
    viz_nodes = Counter(
        fn_keys[m.group(1)] for line in dot.body if (m := _NODE.match(line)) and m.group(1) in fn_keys
    )
    viz_edges = Counter(
        (fn_keys[m.group(1)], fn_keys[m.group(2)])
        for line in dot.body
        if (m := _EDGE.match(line)) and m.group(1) in fn_keys and m.group(2) in fn_keys
    )
    graph = gradtrace.trace(out, params=params).data
    nodes, edges = our_structure(graph)
    assert Counter((k[0], k[1]) for k in nodes) == viz_nodes
    assert Counter((producer, consumer) for consumer, _i, producer, _nr in edges.elements()) == viz_edges


@settings(max_examples=100, deadline=None)
@given(steps=steps_strategy, seed=st.integers(0, 2**16))
def test_capture_with_the_programs_own_backward_agrees_too(steps: list[Step], seed: int) -> None:
    leaves = make_leaves(seed)
    with gradtrace.capture() as cap:
        out = run(steps, leaves)
        out.backward()  # routed through the capture's hooks
    names = {id(t): n for n, t in _names(leaves).items()}
    want_nodes, want_edges, _keep = independent_walk(out, names)
    graph = cap.trace(out, params=_names(leaves)).data
    GraphModel.model_validate(graph)
    assert our_structure(output_part(graph)) == (want_nodes, want_edges)
    again = make_leaves(seed)
    expected = torch.autograd.grad(run(steps, again), again, allow_unused=True, materialize_grads=True)
    for leaf, want in zip(leaves, expected, strict=True):
        torch.testing.assert_close(leaf.grad if leaf.grad is not None else torch.zeros_like(want), want)
    output = next(n for n in graph["nodes"] if n["id"] == graph["output"])
    assert output["value"]["data"] == pytest.approx(out.item(), rel=1e-6)
