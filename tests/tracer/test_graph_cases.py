"""The shapes of graph the issue names, one by one, checked against hand-worked numbers."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import gradtrace
from gradtrace.schema import GraphModel
from gradtrace.tracer import capture


def graph_of(cap: Any, output: torch.Tensor, **kw: Any) -> dict[str, Any]:
    graph: dict[str, Any] = cap.graph(output, **kw)
    GraphModel.model_validate(graph)
    return graph


def by_name(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in graph["nodes"] if n["kind"] == "tensor" and n.get("name")}


def ops(graph: dict[str, Any], op: str) -> list[dict[str, Any]]:
    return [n for n in graph["nodes"] if n["kind"] == "op" and n["op"] == op]


def edges_into(graph: dict[str, Any], target: str) -> list[dict[str, Any]]:
    return [e for e in graph["edges"] if e["target"] == target]


def data(summary: dict[str, Any] | None) -> Any:
    assert summary is not None
    return summary["data"]


def test_chain_rule_steps_read_three_times_four() -> None:
    x = torch.tensor(2.0, requires_grad=True)
    with capture() as cap:
        g = x**2
        y = 3 * g + 1
    for name, value in {"x": x, "g": g, "y": y}.items():
        cap.assigned(name, value, None)
    graph = graph_of(cap, y)
    names = by_name(graph)
    assert data(names["g"]["value"]) == 4.0 and data(names["y"]["value"]) == 13.0
    assert data(names["x"]["grad"]) == 12.0 and data(names["g"]["grad"]) == 3.0
    (pow_op,) = ops(graph, "PowBackward0")
    (edge,) = edges_into(graph, pow_op["id"])
    assert edge["chain"] == {"upstream": 3.0, "local": 4.0, "product": 12.0}
    assert {"name": "exponent", "value": 2} in pow_op["saved"]
    assert graph["forward_order"][0] == pow_op["id"]
    assert graph["backward_order"][-1] == ops(graph, "AccumulateGrad")[0]["id"]


def test_a_leaf_used_twice_shows_each_contribution_and_the_sum() -> None:
    x = torch.tensor(3.0, requires_grad=True)
    graph = gradtrace.trace(x * x + x, params={"x": x}).data
    leaf = by_name(graph)["x"]
    contributions = sorted(data(e["grad"]) for e in graph["edges"] if e["source"] == leaf["id"])
    assert contributions == [1.0, 3.0, 3.0]
    assert data(leaf["grad"]) == 7.0 == x.grad.item()


def test_multi_output_nodes_key_tensors_by_output_nr() -> None:
    x = torch.arange(6.0, requires_grad=True)
    with capture() as cap:
        a, b, c = x.split(2)
        m, _idx = x.reshape(2, 3).max(dim=1)
        u = x.unbind()
        y = (a * 1 + b * 2 + c * 3).sum() + m.sum() + u[5]
    graph = graph_of(cap, y)
    (split,) = ops(graph, "SplitBackward0")
    assert split["num_outputs"] == 3
    outs = [e for e in graph["edges"] if e["source"] == split["id"]]
    assert sorted(e.get("slot", 0) for e in outs) == [0, 1, 2]
    tensors = {n["id"]: n for n in graph["nodes"]}
    assert [data(tensors[e["target"]]["value"]) for e in sorted(outs, key=lambda e: e.get("slot", 0))] == [
        [0.0, 1.0],
        [2.0, 3.0],
        [4.0, 5.0],
    ]
    assert [data(tensors[e["target"]]["grad"]) for e in sorted(outs, key=lambda e: e.get("slot", 0))] == [
        [1.0, 1.0],
        [2.0, 2.0],
        [3.0, 3.0],
    ]
    (unbind,) = ops(graph, "UnbindBackward0")
    parts = [tensors[e["target"]] for e in graph["edges"] if e["source"] == unbind["id"]]
    assert [p.get("output_nr", 0) for p in parts] == [0, 1, 2, 3, 4, 5]  # all six, as the op returned
    assert [p.get("grad", {}).get("data") for p in parts] == [None] * 5 + [1.0]
    assert ops(graph, "MaxBackward0")
    torch.testing.assert_close(torch.tensor(data(by_leaf(graph)["grad"])), x.grad)


def by_leaf(graph: dict[str, Any]) -> dict[str, Any]:
    (leaf,) = [n for n in graph["nodes"] if n["kind"] == "tensor" and n["is_leaf"] and n["requires_grad"]]
    return leaf


def test_constants_are_tensor_nodes_on_input_edges_without_grad() -> None:
    x = torch.tensor(2.0, requires_grad=True)
    with capture() as cap:
        c = torch.tensor(5.0)
        y = x * c
    cap.assigned("c", c, None)
    graph = graph_of(cap, y)
    const = by_name(graph)["c"]
    assert const["role"] == "constant" and not const["requires_grad"] and data(const["value"]) == 5.0
    (edge,) = [e for e in graph["edges"] if e["source"] == const["id"]]
    assert edge["kind"] == "input" and edge.get("slot") == 1 and "grad" not in edge


def test_detach_and_no_grad_are_cut_edges() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with capture() as cap:
        h = x * 3
        y = h.detach()
        with torch.no_grad():
            z = x + 1
        out = (y * x + z * x).sum()
    for name, value in {"h": h, "y": y, "z": z}.items():
        cap.assigned(name, value, None)
    graph = graph_of(cap, out)
    names = by_name(graph)
    assert names["y"]["detached"] and names["z"]["detached"]
    cuts = {(e["source"], e["target"]) for e in graph["edges"] if e["kind"] == "cut"}
    assert (names["h"]["id"], names["y"]["id"]) in cuts
    assert (by_leaf(graph)["id"], names["z"]["id"]) in cuts
    assert data(by_leaf(graph)["grad"]) == [5.0, 9.0]  # y + z, the cut paths carry nothing


def test_islands_of_several_ops_are_one_cut_edge_each() -> None:
    """Ops on a detached result, a no_grad block of several ops, and a non-differentiable op
    each end in a tensor cut from the graph tensor they were computed from."""
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with capture() as cap:
        h = x * 3
        c = (h.detach() * 3 + 1).exp()
        with torch.no_grad():
            d = (h * 5).sin() + 1
        k = (h.argmax() == 1).float() + 2
        out = (h * c + d * x + k * x).sum()
    for name, value in {"h": h, "c": c, "d": d, "k": k}.items():
        cap.assigned(name, value, None)
    graph = graph_of(cap, out)
    names = by_name(graph)
    cuts = {(e["source"], e["target"]) for e in graph["edges"] if e["kind"] == "cut"}
    for island in ("c", "d", "k"):
        assert names[island]["detached"], island
        assert (names["h"]["id"], names[island]["id"]) in cuts, island
    torch.testing.assert_close(torch.tensor(data(by_leaf(graph)["grad"])), x.grad)


def test_backward_twice_with_retain_graph_records_two_passes() -> None:
    x = torch.tensor([2.0], requires_grad=True)
    with capture() as cap:
        y = x**2 + 3 * x + 1
        y.backward(retain_graph=True)
        y.backward()
    graph = graph_of(cap, y)
    assert len(graph["backward_passes"]) == 2
    assert graph["backward_order"] == graph["backward_passes"][0]["order"] * 2
    assert data(by_leaf(graph)["grad"]) == [14.0] == x.grad.tolist()


def test_non_scalar_output_gives_forward_values_and_a_note() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    graph = gradtrace.trace(x * 2).data
    assert [n["code"] for n in graph["notes"]] == ["non_scalar_output"]
    assert all("grad" not in n for n in graph["nodes"] if n["kind"] == "tensor")
    assert x.grad is None
    ones = gradtrace.trace(x * 2, backward="ones").data
    assert data(by_leaf(ones)["grad"]) == [2.0, 2.0]
    assert [n["code"] for n in ones["notes"]] == ["ones_gradient"]


def test_a_program_without_autograd_still_shows_its_tensors() -> None:
    with capture() as cap:
        a = torch.ones(2)
        b = a * 2
    cap.assigned("a", a, None)
    cap.assigned("b", b, None)
    graph = graph_of(cap, b)
    assert [n["code"] for n in graph["notes"]] == ["no_autograd_graph"]
    assert graph["variables"].keys() == {"a", "b"}
    assert data(by_name(graph)["b"]["value"]) == [2.0, 2.0]
    assert graph["output"] == graph["variables"]["b"]


def test_in_place_ops_keep_the_value_before_and_after() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with capture() as cap:
        y = x * 2
        y.add_(1)
        out = y.sum()
    graph = graph_of(cap, out)
    values = {n["op"]: n for n in graph["nodes"] if n["kind"] == "op"}
    tensors = {n.get("grad_fn"): n for n in graph["nodes"] if n["kind"] == "tensor"}
    assert data(tensors[values["MulBackward0"]["id"]]["value"]) == [2.0, 4.0]
    assert data(tensors[values["AddBackward0"]["id"]]["value"]) == [3.0, 5.0]


def test_module_paths_and_parameter_names() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    x = torch.randn(5, 3)
    with capture() as cap:
        loss = model(x).pow(2).mean()
    graph = graph_of(cap, loss, params=dict(model.named_parameters()))
    modules = {n.get("module") for n in graph["nodes"] if n["kind"] == "op"}
    assert {"0", "1", "2"} <= modules
    params = {n["name"]: n for n in graph["nodes"] if n["kind"] == "tensor" and n["role"] == "param"}
    assert params.keys() == {"0.weight", "0.bias", "2.weight", "2.bias"}
    torch.testing.assert_close(torch.tensor(data(params["2.bias"]["grad"])), model[2].bias.grad)
    # every intermediate tensor a Python op returned has its value
    known = [n for n in graph["nodes"] if n["kind"] == "tensor" and n["role"] == "intermediate"]
    assert sum(n["value"] is not None for n in known) >= len(known) - 2  # TBackward0 inside F.linear


def test_nan_and_infinity_survive_json() -> None:
    x = torch.tensor([1.0, 0.0, -1.0], requires_grad=True)
    graph = gradtrace.trace(torch.log(x).sum(), params={"x": x})
    value = by_name(graph.data)["x"]["grad"]["data"]
    assert value == [1.0, "Infinity", -1.0]
    assert '"NaN"' in graph.to_json()  # log(-1)


@pytest.mark.parametrize(("shape", "keys"), [((8, 8), {"data"}), ((10, 10), {"head", "stats", "grid"})])
def test_summaries_are_full_up_to_the_cap_then_head_stats(shape: tuple[int, int], keys: set[str]) -> None:
    w = torch.randn(*shape, requires_grad=True)
    value = by_leaf(gradtrace.trace((w * 2).sum()).data)["value"]
    assert keys <= value.keys() and value["numel"] == shape[0] * shape[1]
    if "grid" in keys:
        assert value["grid"]["rows"] == 10 and len(value["grid"]["data"]) == 10
        assert value["stats"]["max"] == pytest.approx(w.max().item())


def test_ids_are_stable_for_the_same_program() -> None:
    def once() -> list[Any]:
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        graph = gradtrace.trace((x.exp() * x).sum(), params={"x": x}).data
        return [(n["id"], n.get("op") or n.get("name")) for n in graph["nodes"]] + graph["edges"]

    assert once() == once()


def test_trace_without_capture_knows_leaves_output_and_saved_tensors() -> None:
    x = torch.tensor(2.0, requires_grad=True)
    graph = gradtrace.trace(torch.sin(x) * x, params={"x": x}).data
    assert data(by_name(graph)["x"]["value"]) == 2.0
    (sin,) = ops(graph, "SinBackward0")
    assert [s["name"] for s in sin["saved"]] == ["self"]
    output = next(n for n in graph["nodes"] if n["id"] == graph["output"])
    assert data(output["value"]) == pytest.approx(2 * torch.sin(torch.tensor(2.0)).item())


def test_tracing_after_the_user_ran_backward_shows_the_leaf_grads_and_a_note() -> None:
    x = torch.tensor(2.0, requires_grad=True)
    y = x**2
    y.backward()
    graph = gradtrace.trace(y, params={"x": x}).data
    GraphModel.model_validate(graph)
    assert [n["code"] for n in graph["notes"]] == ["graph_freed"]
    assert data(by_name(graph)["x"]["grad"]) == 4.0 == x.grad.item()


def test_negative_saved_integers_stay_negative() -> None:
    """torch hands some int64 attributes over as unsigned; the graph says what the program said."""
    x = torch.randn(3, 5, requires_grad=True)
    with capture() as cap:
        loss = torch.nn.functional.nll_loss(x.log_softmax(dim=-1), torch.tensor([1, 0, 4]))
    graph = graph_of(cap, loss)
    ops_ = [n for n in graph["nodes"] if n["kind"] == "op"]
    saved = {s["name"]: s.get("value") for op in ops_ for s in op.get("saved", [])}
    assert saved["ignore_index"] == -100 and saved["dim"] == -1
