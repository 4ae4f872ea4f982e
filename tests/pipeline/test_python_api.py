"""The Python API on real modules: trace, capture, and the Graph object's exports."""

from __future__ import annotations

import json

import networkx as nx
import torch

import gradtrace
from gradtrace.export import expand
from gradtrace.schema import GraphModel


def mlp() -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    return model, torch.randn(16, 4)


def test_trace_leaves_grads_as_if_backward_had_been_called() -> None:
    model, x = mlp()
    model(x).pow(2).mean().backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    graph = gradtrace.trace(model(x).pow(2).mean(), params=dict(model.named_parameters()))
    GraphModel.model_validate(graph.data)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[name])
    params = {n["name"] for n in graph.data["nodes"] if n["kind"] == "tensor" and n["role"] == "param"}
    assert params == set(expected)


def test_capture_records_intermediate_values_and_module_paths() -> None:
    model, x = mlp()
    with gradtrace.capture() as cap:
        loss = model(x).pow(2).mean()
    graph = cap.trace(loss, params=dict(model.named_parameters()))
    tensors = [n for n in graph.data["nodes"] if n["kind"] == "tensor" and n["role"] == "intermediate"]
    assert sum(n["value"] is not None for n in tensors) >= len(tensors) - 2
    assert {"0", "1", "2"} <= {n.get("module") for n in graph.data["nodes"] if n["kind"] == "op"}


def test_capture_routes_the_programs_own_backward_through_hooks() -> None:
    x = torch.tensor(2.0, requires_grad=True)
    with gradtrace.capture() as cap:
        y = x**3
        y.backward()
    graph = cap.trace(y).data
    assert len(graph["backward_passes"]) == 1
    assert x.grad.item() == 12.0  # one backward only: the capture did not run it again


def test_graph_exports() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    graph = gradtrace.trace((x * x).sum(), params={"x": x})
    data = json.loads(graph.to_json())  # the compact form: each summary said once
    assert expand(json.loads(graph.to_json())) == json.loads(json.dumps(graph.data))
    assert isinstance(graph.to_networkx(), nx.DiGraph)
    assert nx.parse_graphml(graph.to_graphml()).number_of_nodes() == len(data["nodes"])
    assert len(graph.to_node_link()["nodes"]) == len(data["nodes"])
    assert "lightblue" in graph.to_dot()
    html = graph._repr_html_()
    assert html.startswith("<iframe srcdoc=") and "MulBackward0" in html  # the web app, self-contained
    assert "ops" in repr(graph)
