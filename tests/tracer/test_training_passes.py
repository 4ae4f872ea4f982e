"""Training loops as they ran: every pass, every update, every ``.grad``.

Oracles are plain torch re-runs of the same loops (no gradtrace anywhere) and
``torch.autograd.grad``: the JSON must give their numbers, pass by pass.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import torch

from gradtrace.pipeline import trace_source
from gradtrace.schema import GraphModel

TUTORIAL = """import torch
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nSecond call\\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nCall after zeroing gradients\\n{inp.grad}")
"""

MANUAL = """import torch
w = torch.tensor(0.0, requires_grad=True)
for i in range(5):
    loss = (w - 3.0) ** 2
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
final = (w - 3.0) ** 2
"""

SGD = """import torch
w = torch.tensor(0.0, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)
for i in range(3):
    opt.zero_grad()
    loss = (w - 3.0) ** 2
    loss.backward()
    opt.step()
"""


def _data(summary: dict[str, Any] | None) -> Any:
    return None if summary is None else summary["data"]


def _num(summary: dict[str, Any] | None) -> float:
    data = _data(summary)
    while isinstance(data, list):
        data = data[0]
    return float(data)


def _trace(source: str) -> dict[str, Any]:
    graph = trace_source(source)
    GraphModel.model_validate(graph)
    return graph


def _node(graph: dict[str, Any], name: str) -> dict[str, Any]:
    tid = graph["variables"][name]
    return next(n for n in graph["nodes"] if n["id"] == tid)


def _leaf_of(pass_: dict[str, Any], tid: str) -> dict[str, Any]:
    return next(leaf for leaf in pass_["leaves"] if leaf["node"] == tid)


def test_tutorial_accumulation_then_zero_gives_what_torch_prints() -> None:
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    after = []
    for zero_first in (False, False, True):
        if zero_first:
            assert inp.grad is not None
            inp.grad.zero_()
        out.backward(torch.ones_like(out), retain_graph=True)
        assert inp.grad is not None
        after.append(inp.grad.tolist())
    graph = _trace(TUTORIAL)
    leaf = _node(graph, "inp")
    assert leaf["grad"]["data"] == after[-1]  # 4 on the diagonal, 2 elsewhere: not 12/6
    assert graph["per_pass"] is True and graph["pass_count"] == 3
    passes = graph["backward_passes"]
    assert [p["index"] for p in passes] == [0, 1, 2]
    assert [_data(_leaf_of(p, leaf["id"])["grad_after"]) for p in passes] == after
    delivered = [_data(_leaf_of(p, leaf["id"])["grad"]) for p in passes]
    assert delivered == [after[0]] * 3
    (zero,) = graph["updates"]
    assert zero["kind"] == "zero_grad" and zero["node"] == leaf["id"] and zero["after_pass"] == 1
    assert zero["before"]["data"] == after[1] and zero["span"]["line"] == 8


def _manual_oracle() -> tuple[list[float], list[float], float, float]:
    w = torch.tensor(0.0, requires_grad=True)
    values, grads = [], []
    for _ in range(5):
        loss = (w - 3.0) ** 2
        loss.backward()
        assert w.grad is not None
        values.append(w.item())
        grads.append(w.grad.item())
        with torch.no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
    final = (w - 3.0) ** 2
    (final_grad,) = torch.autograd.grad(final, w)
    return values, grads, w.item(), final_grad.item()


def test_manual_loop_back_propagates_final_after_its_five_passes() -> None:
    values, grads, w_final, final_grad = _manual_oracle()
    graph = _trace(MANUAL)
    w = _node(graph, "w")
    assert graph["output"] == graph["variables"]["final"]
    assert _num(w["value"]) == pytest.approx(w_final) and round(w_final, 3) == 2.017
    assert _num(w["grad"]) == pytest.approx(final_grad) and round(final_grad, 3) == -1.966
    passes = graph["backward_passes"]
    assert [p.get("automatic", False) for p in passes] == [False] * 5 + [True]
    assert passes[-1]["root"] == graph["output"]
    assert "output_backward" in [n["code"] for n in graph["notes"]]
    for p, value, grad in zip(passes, values, grads, strict=False):
        leaf = _leaf_of(p, w["id"])
        assert _num(leaf["value"]) == pytest.approx(value)
        assert _num(leaf["grad"]) == pytest.approx(grad)
    kinds = [u["kind"] for u in graph["updates"]]
    assert kinds == ["inplace", "zero_grad"] * 5
    steps = [u for u in graph["updates"] if u["kind"] == "inplace"]
    assert [u["after_pass"] for u in steps] == [0, 1, 2, 3, 4]
    assert [_num(u["after"]) for u in steps] == pytest.approx([*values[1:], w_final])
    assert [it["params"]["w"] for it in graph["iterations"]] == pytest.approx([*values, w_final])
    # each iteration's own graph: its own pow node, its nodes listed
    pow_ops = {op for p in passes for op in p["nodes"] if op.startswith("op")}
    assert len([n for n in graph["nodes"] if n.get("label") == "pow" and n["id"] in pow_ops]) == 6


def test_sgd_loop_passes_and_optimizer_steps() -> None:
    w = torch.tensor(0.0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    read, grads, moved = [], [], []
    for _ in range(3):
        opt.zero_grad()
        loss = (w - 3.0) ** 2
        loss.backward()
        assert w.grad is not None
        read.append(w.item())
        grads.append(w.grad.item())
        opt.step()
        moved.append(w.item())
    graph = _trace(SGD)
    tid = graph["variables"]["w"]
    passes = graph["backward_passes"]
    assert [_num(_leaf_of(p, tid)["value"]) for p in passes] == pytest.approx(read)  # 0, 0.6, 1.08
    assert [_num(_leaf_of(p, tid)["grad"]) for p in passes] == pytest.approx(grads)  # -6, -4.8, -3.84
    steps = [u for u in graph["updates"] if u["kind"] == "optimizer_step"]
    assert [_num(u["after"]) for u in steps] == pytest.approx(moved) and round(moved[-1], 3) == 1.464
    assert [u["after_pass"] for u in steps] == [0, 1, 2]
    assert steps[1]["detail"]["expr"] == "w ← 0.6 − 0.1 × (−4.8) = 1.08"
    assert steps[1]["detail"]["optimizer"] == "SGD" and steps[1]["detail"]["lr"] == pytest.approx(0.1)
    assert steps[0]["span"]["line"] == 8
    zeroed = [u for u in graph["updates"] if u["kind"] == "zero_grad"]
    assert [u["after"] for u in zeroed] == [None, None]  # set to None, after passes 0 and 1
    assert [u["after_pass"] for u in zeroed] == [0, 1]


LONG_LOOP = """import torch
w = torch.tensor(0.0, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.01)
for i in range(50):
    opt.zero_grad()
    loss = (w - 3.0) ** 2
    loss.backward()
    opt.step()
"""


def test_long_loop_keeps_first_last_and_a_sample_with_every_iteration_plotted() -> None:
    graph = _trace(LONG_LOOP)
    indices = [p["index"] for p in graph["backward_passes"]]
    assert indices[:3] == [0, 1, 2] and indices[-3:] == [47, 48, 49]
    assert 10 <= len(indices) <= 16 and indices == sorted(indices)
    assert graph["pass_count"] == 50 and len(graph["iterations"]) == 50
    assert "passes_sampled" in [n["code"] for n in graph["notes"]]
    kept = set(indices)
    assert all(u["after_pass"] in kept for u in graph["updates"])
    w = torch.tensor(0.0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.01)
    losses = []
    for _ in range(50):
        opt.zero_grad()
        loss = (w - 3.0) ** 2
        losses.append(loss.item())
        loss.backward()
        opt.step()
    assert [it["loss"] for it in graph["iterations"]] == pytest.approx(losses)


ADAM = """import torch
w = torch.tensor([1.0, -2.0], requires_grad=True)
opt = torch.optim.Adam([w], lr=0.1)
for i in range(3):
    opt.zero_grad()
    loss = (w ** 2).sum()
    loss.backward()
    opt.step()
"""


def test_adam_steps_carry_their_moments() -> None:
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    state = opt.state[w]
    graph = _trace(ADAM)
    last = [u for u in graph["updates"] if u["kind"] == "optimizer_step"][-1]
    assert last["detail"]["step"] == 3 and last["detail"]["optimizer"] == "Adam"
    assert last["detail"]["exp_avg"]["data"] == pytest.approx(state["exp_avg"].tolist())
    assert last["detail"]["exp_avg_sq"]["data"] == pytest.approx(state["exp_avg_sq"].tolist())
    assert last["after"]["data"] == pytest.approx(w.tolist())


def test_autograd_grad_is_a_pass_that_leaves_grad_alone() -> None:
    source = (
        "import torch\nx = torch.tensor(3.0, requires_grad=True)\ny = x ** 3\n"
        "(g,) = torch.autograd.grad(y, x, retain_graph=True)\ny.backward()\n"
    )
    graph = _trace(source)
    tid = graph["variables"]["x"]
    first, second = graph["backward_passes"]
    assert first["call"] == "grad" and "call" not in second
    x = torch.tensor(3.0, requires_grad=True)
    (expected,) = torch.autograd.grad(x**3, x)
    assert _num(_leaf_of(first, tid)["grad"]) == expected.item()
    assert _leaf_of(first, tid)["grad_after"] is None  # .grad was empty and stayed so
    assert _num(_leaf_of(second, tid)["grad_after"]) == expected.item()


@pytest.mark.parametrize(
    ("source", "variable", "label"),
    [
        (
            "import torch\nimport torch.nn as nn\nmodel = nn.Sequential(nn.Linear(2, 1))\n"
            "for param in model.parameters():\n    print(param.shape)\n"
            "loss = model(torch.ones(1, 2)).sum()\n",
            "param",
            "model.0.bias",
        ),
        (
            "import torch\na = torch.tensor(2.0, requires_grad=True)\napt = a\ny = apt * 3\n",
            "apt",
            "a",
        ),
    ],
)
def test_leaf_keeps_its_first_name_or_parameter_path(source: str, variable: str, label: str) -> None:
    graph = _trace(source)
    assert _node(graph, variable)["name"] == label


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("w.data -= 0.1 * w.grad", "inplace"),
        ("w.sub_(0.1 * w.grad)", "inplace"),
        ("w.grad = None", "zero_grad"),
        ("w.grad.data.zero_()", "zero_grad"),
    ],
)
def test_writes_to_a_leaf_or_its_grad_are_updates(statement: str, kind: str) -> None:
    source = (
        "import torch\nw = torch.tensor(1.0, requires_grad=True)\nloss = (w * 4) ** 2\nloss.backward()\n"
        f"with torch.no_grad():\n    {statement}\n"
    )
    graph = _trace(source)
    (update,) = graph["updates"]
    assert update["kind"] == kind and update["node"] == graph["variables"]["w"]
    assert update["after_pass"] == 0 and update["span"]["line"] == 6
    if kind == "inplace":
        assert _num(update["before"]) == 1.0 and _num(update["after"]) == pytest.approx(1.0 - 0.1 * 32)


def test_scheduler_step_shows_the_learning_rate_change() -> None:
    source = (
        "import torch\nw = torch.tensor(1.0, requires_grad=True)\nopt = torch.optim.SGD([w], lr=0.1)\n"
        "sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)\n"
        "for i in range(2):\n    opt.zero_grad()\n    (w * w).backward()\n    opt.step()\n    sched.step()\n"
    )
    graph = _trace(source)
    (change,) = [u for u in graph["updates"] if u["kind"] == "scheduler_step"]
    assert change["node"] is None
    assert change["detail"] == {"lr_before": pytest.approx(0.1), "lr_after": pytest.approx(0.05)}


def test_accumulating_without_zeroing_keeps_each_steps_gradient() -> None:
    """Two backward passes add into the same ``.grad`` in place: the first step's gradient stays its own."""
    source = (
        "import torch\nw = torch.tensor(1.0, requires_grad=True)\nopt = torch.optim.SGD([w], lr=0.1)\n"
        "for i in range(2):\n    (w * 2).backward()\n    opt.step()\n"
    )
    graph = _trace(source)
    grads = [_num(u["detail"]["grad"]) for u in graph["updates"] if u["kind"] == "optimizer_step"]
    assert grads == [2.0, 4.0]  # .grad accumulated: 2, then 2 + 2
    assert [_num(u["after"]) for u in graph["updates"]] == pytest.approx([0.8, 0.4])


def test_the_input_of_a_linear_layer_is_connected_where_addmm_reads_it() -> None:
    """``F.linear(x, W, b)`` makes ``AddmmBackward0(b, x, Wᵀ)``: ``x`` is its second input."""
    source = (
        "import torch\nimport torch.nn as nn\ntorch.manual_seed(0)\n"
        "model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))\n"
        "x = torch.randn(16, 4)\nloss = model(x).sum()\n"
    )
    graph = _trace(source)
    ops = {n["id"]: n for n in graph["nodes"] if n["kind"] == "op"}
    (edge,) = [e for e in graph["edges"] if e["source"] == graph["variables"]["x"]]
    assert ops[edge["target"]]["label"] == "addmm" and edge.get("slot") == 1
    assert ops[edge["target"]]["module"] == "model.0"


def test_a_loop_over_a_big_graph_ships_fewer_copies_of_it() -> None:
    import gradtrace

    w = torch.tensor(1.0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.001)
    with gradtrace.capture() as cap:
        for _ in range(12):
            opt.zero_grad()
            y = sum([w * 1.001] * 600)  # 600 adds: some 1,200 autograd nodes a pass
            assert isinstance(y, torch.Tensor)
            y.backward()
            opt.step()
    graph = cap.trace(y, {"w": w}).data
    GraphModel.model_validate(graph)
    indices = [p["index"] for p in graph["backward_passes"]]
    assert indices[0] == 0 and indices[-1] == 11 and 2 <= len(indices) < 12
    assert graph["pass_count"] == 12 and len(graph["iterations"]) == 12
    ops = [n for n in graph["nodes"] if n["kind"] == "op"]
    assert len(ops) <= 5_000 + 1_300  # the graphs shown, with the last one whole
    assert {u["after_pass"] for u in graph["updates"]} <= {*indices, None}


def test_rebinding_the_name_to_a_new_leaf_is_the_update() -> None:
    """The notes' image restoration: ``t = t - lr * t.grad`` under no_grad, then ``requires_grad_``."""
    source = (
        "import torch\nw = torch.tensor(0.0)\nfor i in range(3):\n    w.requires_grad_(True)\n"
        "    loss = (w - 3.0) ** 2\n    loss.backward()\n    with torch.no_grad():\n"
        "        w = w - 0.1 * w.grad\n"
    )
    w = torch.tensor(0.0)
    read, moved = [], []
    for _ in range(3):
        w.requires_grad_(True)
        ((w - 3.0) ** 2).backward()
        read.append(w.item())
        with torch.no_grad():
            assert w.grad is not None
            w = w - 0.1 * w.grad
        moved.append(w.item())
    graph = _trace(source)
    passes = graph["backward_passes"]
    assert [_num(p["leaves"][0]["value"]) for p in passes] == pytest.approx(read)
    updates = graph["updates"]
    assert [u["kind"] for u in updates] == ["inplace"] * 3 and [u["after_pass"] for u in updates] == [0, 1, 2]
    assert [u["node"] for u in updates] == [p["leaves"][0]["node"] for p in passes]  # each pass's own leaf
    assert [_num(u["after"]) for u in updates] == pytest.approx(moved)
    assert updates[0]["span"]["line"] == 8


def test_lbfgs_closure_passes_are_recorded_inside_the_step() -> None:
    source = (
        "import torch\nw = torch.tensor(0.0, requires_grad=True)\nopt = torch.optim.LBFGS([w], max_iter=3)\n"
        "def closure():\n    opt.zero_grad()\n    loss = (w - 3.0) ** 2\n"
        "    loss.backward()\n    return loss\n"
        "opt.step(closure)\nfinal = (w - 3.0) ** 2\n"
    )
    w = torch.tensor(0.0, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=3)
    calls = []

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (w - 3.0) ** 2
        loss.backward()
        calls.append(w.item())
        return loss

    opt.step(closure)
    graph = _trace(source)
    program = [p for p in graph["backward_passes"] if not p.get("automatic")]
    assert [_num(p["leaves"][0]["value"]) for p in program] == pytest.approx(calls)
    (step,) = [u for u in graph["updates"] if u["kind"] == "optimizer_step"]
    assert _num(step["after"]) == pytest.approx(w.item())


def test_a_big_parameters_step_is_kept_as_its_summary() -> None:
    import gradtrace

    torch.manual_seed(0)
    layer = torch.nn.Linear(100, 100)  # 10,000 weights: summarised at once, not copied
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    with gradtrace.capture() as cap:
        loss = layer(torch.ones(1, 100)).pow(2).sum()
        loss.backward()
        opt.step()
    graph = cap.trace(loss, dict(layer.named_parameters())).data
    GraphModel.model_validate(graph)
    names = {n["id"]: n.get("name") for n in graph["nodes"]}
    (step,) = [u for u in graph["updates"] if names[u["node"]] == "weight"]
    assert step["after"]["head"] == pytest.approx(layer.weight.detach().flatten()[:8].tolist())
    assert step["after"]["stats"]["mean"] == pytest.approx(layer.weight.mean().item(), rel=1e-4, abs=1e-6)
    assert step["detail"]["grad"]["shape"] == [100, 100]


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_each_pass_reads_the_weights_of_its_own_iteration(optimizer: str) -> None:
    """100 weights: past the size kept by copy at the forward; the step's in-place writes
    (foreach kernels, which the mode does not see one by one) must not leak into earlier passes."""
    import gradtrace

    def loop(cap: bool) -> tuple[list[list[float]], dict[str, Any] | None]:
        torch.manual_seed(0)
        layer = torch.nn.Linear(10, 10)
        opt = getattr(torch.optim, optimizer)(layer.parameters(), lr=0.1)
        read: list[list[float]] = []
        with gradtrace.capture() if cap else contextlib.nullcontext() as recording:
            for _ in range(3):
                opt.zero_grad()
                loss = layer(torch.ones(2, 10)).pow(2).mean()
                read.append(layer.weight.detach().flatten().tolist())
                loss.backward()
                opt.step()
        if not cap:
            return read, None
        assert isinstance(recording, gradtrace.pipeline.Recording)
        return read, recording.trace(loss, dict(layer.named_parameters())).data

    expected, _ = loop(False)
    _, graph = loop(True)
    assert graph is not None
    weight = next(n["id"] for n in graph["nodes"] if n.get("name") == "weight")
    program = [p for p in graph["backward_passes"] if not p.get("automatic")]
    for p, values in zip(program, expected, strict=True):
        leaf = _leaf_of(p, weight)["value"]
        assert leaf["head"] == pytest.approx(values[:8])
        assert leaf["stats"]["mean"] == pytest.approx(sum(values) / len(values), abs=1e-6)
