"""The Python API on a training loop: every pass and step recorded, and the loop's numbers unchanged."""

from __future__ import annotations

import pytest
import torch

import gradtrace
from gradtrace.schema import GraphModel


def _loop(steps: int) -> tuple[torch.nn.Module, list[float]]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    x, target = torch.randn(8, 3), torch.randn(8, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, losses


def test_capture_of_a_loop_changes_nothing_and_records_every_step() -> None:
    plain, plain_losses = _loop(4)
    with gradtrace.capture() as cap:
        model, losses = _loop(4)
    x = torch.randn(2, 3)
    graph = cap.trace(model(x).sum(), dict(model.named_parameters())).data
    GraphModel.model_validate(graph)
    assert losses == plain_losses
    for p, q in zip(model.parameters(), plain.parameters(), strict=True):
        assert torch.equal(p, q)  # tracing never changes the loop's results
    assert graph["pass_count"] == 5  # the loop's four, and the output's own
    assert [it["loss"] for it in graph["iterations"][:4]] == pytest.approx(plain_losses)
    steps = [u for u in graph["updates"] if u["kind"] == "optimizer_step"]
    assert len(steps) == 4 * 4  # four parameters, four steps
    names = {n["id"]: n.get("name") for n in graph["nodes"]}
    assert {names[u["node"]] for u in steps} == {"0.weight", "0.bias", "2.weight", "2.bias"}
