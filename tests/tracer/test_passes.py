"""Each backward pass carries its own gradients, checked against per-root oracles.

The oracle reruns the program without us and asks ``torch.autograd.grad`` for each
root separately; the leaf's ``.grad`` after pass k must equal the running sum of
those, and each pass's edge gradients must be that pass's alone (not the sum).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from gradtrace.pipeline import trace_source
from gradtrace.schema import GraphModel

TWO_ROOTS = """import torch
x = torch.tensor(2.0, requires_grad=True)
y = x ** 2
y.backward(retain_graph=True)
z = 3 * x
z.backward()
"""

SAME_ROOT = """import torch
x = torch.tensor([2.0], requires_grad=True)
y = x ** 2 + 3 * x + 1
y.backward(retain_graph=True)
first = x.grad.clone()
y.backward()
x.grad.zero_()
"""


def _scalar(summary: dict[str, Any]) -> float:
    data = summary["data"]
    while isinstance(data, list):
        data = data[0]
    return float(data)


def _by_id(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in [*graph["nodes"], *graph["edges"]]}


def _leaf_id(graph: dict[str, Any], name: str) -> str:
    return str(graph["variables"][name])


def test_two_roots_match_per_root_autograd_grad() -> None:
    graph = trace_source(TWO_ROOTS)
    GraphModel.model_validate(graph)
    x = torch.tensor(2.0, requires_grad=True)
    oracle = [torch.autograd.grad(x**2, x)[0].item(), torch.autograd.grad(3 * x, x)[0].item()]
    passes = graph["backward_passes"]
    assert len(passes) == 2
    leaf = _leaf_id(graph, "x")
    running = 0.0
    for p, expected in zip(passes, oracle, strict=True):
        into_leaf = [e for e in graph["edges"] if e["source"] == leaf and e["id"] in p["edge_grads"]]
        assert [_scalar(p["edge_grads"][e["id"]]) for e in into_leaf] == [expected]
        running += expected
        assert _scalar(p["node_grads"][leaf]) == pytest.approx(running)
    # the root's own gradient in the first pass is 1, not the second pass's numbers
    first = passes[0]
    assert _scalar(first["node_grads"][first["root"]]) == 1.0
    assert all(_scalar(first["edge_grads"][e]) != 3.0 for e in first["edge_grads"])
    for p in passes:  # scalar paths: this pass's upstream x local = this pass's edge gradient
        assert p["chain"]
        for edge_id, step in p["chain"].items():
            assert step["upstream"] == 1.0
            assert step["product"] == pytest.approx(_scalar(p["edge_grads"][edge_id]))


def test_same_root_twice_accumulates_and_zero_does_not_rewrite_history() -> None:
    graph = trace_source(SAME_ROOT)
    GraphModel.model_validate(graph)
    leaf = _leaf_id(graph, "x")
    x = torch.tensor([2.0], requires_grad=True)
    once = torch.autograd.grad((x**2 + 3 * x + 1).sum(), x)[0].item()
    after = [_scalar(p["node_grads"][leaf]) for p in graph["backward_passes"]]
    assert after == [once, 2 * once]
    items = _by_id(graph)
    for p in graph["backward_passes"]:  # each pass's edge gradients are one pass's, half the sum
        for edge_id, summary in p["edge_grads"].items():
            total = items[edge_id]["grad"]
            assert _scalar(summary) * 2 == pytest.approx(_scalar(total))


def test_one_pass_keeps_the_json_small() -> None:
    source = "import torch\nx = torch.tensor(2.0, requires_grad=True)\ny = x ** 2\ny.backward()\n"
    graph = trace_source(source)
    (only,) = graph["backward_passes"]
    assert not {"edge_grads", "node_grads", "chain"} & only.keys()


def test_leaf_grad_after_each_pass_sees_the_users_post_accumulate_hook() -> None:
    """A post-accumulate hook may rewrite ``.grad``: each pass's leaf gradient is read after it."""
    from gradtrace.pipeline import capture

    x = torch.tensor(2.0, requires_grad=True)

    def scale(t: torch.Tensor) -> None:
        assert t.grad is not None
        t.grad.mul_(10)

    x.register_post_accumulate_grad_hook(scale)
    with capture() as cap:
        y = x * 3
        y.backward(retain_graph=True)
        y.backward()
    graph = cap.trace(y, names={"x": x}).data
    GraphModel.model_validate(graph)
    leaf = _leaf_id(graph, "x")
    after = [_scalar(p["node_grads"][leaf]) for p in graph["backward_passes"]]
    assert after == [30.0, 330.0]
    assert x.grad is not None and x.grad.item() == 330.0


def test_leaf_grad_before_the_trace_is_added_to_and_left_as_torch_leaves_it() -> None:
    """A leaf whose ``.grad`` already held something: each pass's value is the running sum."""
    from gradtrace.pipeline import capture

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()  # not traced: .grad = 2x
    with capture() as cap:
        y = (x * 3).sum()
        y.backward(retain_graph=True)
        y.backward()
    graph = cap.trace(y, names={"x": x}).data
    leaf = _leaf_id(graph, "x")
    after = [p["node_grads"][leaf]["data"] for p in graph["backward_passes"]]
    assert after == [[5.0, 7.0], [8.0, 10.0]]
    assert x.grad is not None and x.grad.tolist() == [8.0, 10.0]
