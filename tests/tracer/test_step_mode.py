"""A stock optimizer's step runs with the forward mode set aside, and the mode always comes back.

Oracles: torch's own mode stack (``torch._C._len_torch_function_stack``) read inside and
outside steps, and plain torch re-runs of the loops for the numbers the graph must give.
"""

from __future__ import annotations

import importlib
from typing import Any
from unittest import mock

import pytest
import torch
from torch import nn

from gradtrace.pipeline import trace_source
from gradtrace.tracer.capture import capture


def _depth() -> int:
    return int(torch._C._len_torch_function_stack())


def _depths_inside_sgd(record: list[int]) -> Any:
    """Wraps torch's functional ``sgd`` (what ``SGD.step`` calls) to read the stack's depth."""
    module = importlib.import_module("torch.optim.sgd")
    real = module.sgd

    def spy(*args: Any, **kwargs: Any) -> Any:
        record.append(_depth())
        return real(*args, **kwargs)

    return mock.patch.object(module, "sgd", spy)


def _model() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)), torch.randn(5, 3), torch.randn(5, 1)


def test_a_stock_step_runs_without_the_mode_which_comes_back_after() -> None:
    model, x, y = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    outside = _depth()
    inside_step: list[int] = []
    after_step: list[int] = []
    with capture() as cap, _depths_inside_sgd(inside_step):
        traced = _depth()
        for _ in range(3):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            after_step.append(_depth())
    assert traced == outside + 1
    assert inside_step == [outside] * 3
    assert after_step == [traced] * 3
    assert _depth() == outside
    graph = cap.graph(loss)
    assert len(graph["iterations"]) == 3
    assert sum(u["kind"] == "optimizer_step" for u in graph["updates"]) > 0


def test_a_step_with_hooks_of_its_own_keeps_the_mode() -> None:
    model, x, y = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen: list[int] = []
    opt.register_step_pre_hook(lambda optimizer, args, kwargs: seen.append(_depth()))
    with capture(), _depths_inside_sgd(seen):
        traced = _depth()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    assert seen == [traced, traced]


def test_a_closure_step_keeps_the_mode_for_the_closures_forward() -> None:
    model, x, y = _model()
    opt = torch.optim.LBFGS(model.parameters(), max_iter=2)
    seen: list[int] = []

    def closure() -> torch.Tensor:
        seen.append(_depth())
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    with capture() as cap:
        traced = _depth()
        opt.step(closure)
    assert seen and set(seen) == {traced}
    assert len(cap.state.passes) == len(seen)


def test_a_step_that_raises_gives_the_mode_back_to_the_next_module_call() -> None:
    model, x, y = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    outside = _depth()
    with capture() as cap:
        traced = _depth()
        nn.functional.mse_loss(model(x), y).backward()
        opt.param_groups[0]["lr"] = "fast"  # the step raises in its first update
        with pytest.raises(TypeError):
            opt.step()
        pred = model(x)  # the module call puts the mode back before the forward runs
        assert _depth() == traced
        loss = nn.functional.mse_loss(pred, y)
    assert _depth() == outside
    ops = {n["op"] for n in cap.graph(loss, backward="none")["nodes"] if n["kind"] == "op"}
    assert "MseLossBackward0" in ops and "AddmmBackward0" in ops


def test_a_step_that_raises_at_the_end_of_the_capture_leaves_the_stack_as_it_was() -> None:
    w = torch.zeros(3, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    outside = _depth()
    with capture():
        (w * 2).sum().backward()
        opt.param_groups[0]["lr"] = "fast"
        with pytest.raises(TypeError):
            opt.step()
    assert _depth() == outside
    assert torch.ones(2).add(1).sum().item() == 4  # torch runs as before, no mode left behind


SANDBOX_LOOP = """import torch
w = torch.tensor([1.0, -2.0], requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)
for i in range(4):
    opt.zero_grad()
    loss = (w * w).sum()
    loss.backward()
    opt.step()
    moved = w * 1.0
"""


def test_the_sandbox_loop_records_the_ops_after_each_step() -> None:
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    afters = []
    for _ in range(4):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        afters.append(w.detach().clone().tolist())
    graph = trace_source(SANDBOX_LOOP)
    steps = [u for u in graph["updates"] if u["kind"] == "optimizer_step"]
    assert [x for u in steps for x in u["after"]["data"]] == pytest.approx([x for a in afters for x in a])
    moved = graph["variables"]["moved"]
    node = next(n for n in graph["nodes"] if n["id"] == moved)
    assert node["value"]["data"] == pytest.approx(afters[-1])
