"""The tracer and the sandbox on a CUDA device, against plain torch on the same device.

Skipped without a GPU. Each real model of ``models.CASES`` runs on ``cuda`` with and
without ``capture``: parameter gradients equal a plain ``backward()`` on the GPU, the
structure equals an independent ``next_functions`` walk, and the graph says which device
it ran on. A sandboxed training loop on ``cuda`` gives the numbers a plain torch run on the
GPU gives, and summaries of GPU tensors equal those of the same values on the CPU.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from models import CASES, Case
from test_real_models import traced_against_a_walk
from torch import nn

from gradtrace.pipeline import trace_source
from gradtrace.schema import GraphModel
from gradtrace.tracer.summary import Summaries

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
CUDA = "cuda"


def _on_gpu(case: Case) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    model, inputs = case.make()
    moved = tuple(x.detach().to(CUDA).requires_grad_(x.requires_grad) for x in inputs)
    return model.to(CUDA), moved


@pytest.mark.parametrize("captured", [False, True], ids=["trace", "capture"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_real_model_on_the_gpu(case: Case, captured: bool) -> None:
    plain_model, plain_inputs = _on_gpu(case)
    case.loss(plain_model, plain_inputs).backward()
    want = {name: p.grad for name, p in plain_model.named_parameters()}

    model, inputs = _on_gpu(case)
    graph = traced_against_a_walk(case, model, inputs, captured)
    assert graph["device"].startswith(CUDA)
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.is_cuda, name
        torch.testing.assert_close(param.grad, want[name], msg=name)


LOOP = """
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).to(device)
opt = torch.optim.Adam(model.parameters(), lr=0.05)
x = torch.randn(16, 4, device=device)
y = x.sum(dim=1, keepdim=True)
for step in range(5):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
final = ((model(x) - y) ** 2).mean()
"""


def _plain_loop() -> list[float]:
    device = CUDA
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x = torch.randn(16, 4, device=device)
    y = x.sum(dim=1, keepdim=True)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_a_sandboxed_training_loop_on_the_gpu_matches_plain_torch() -> None:
    graph = trace_source("device = 'cuda'\n" + LOOP, device=CUDA)
    GraphModel.model_validate(graph)
    assert graph["device"].startswith(CUDA)
    losses = [it["loss"] for it in graph["iterations"]]
    assert losses[: len(_plain_loop())] == pytest.approx(_plain_loop(), rel=1e-4)
    assert [u["kind"] for u in graph["updates"]].count("optimizer_step") == 5 * 4  # one per parameter


def _summary(t: torch.Tensor) -> dict[str, Any]:
    summaries = Summaries()
    made = summaries.add(t)
    summaries.flush()
    return made


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", [[5], [300, 200], [2, 16, 40, 40]], ids=["small", "matrix", "activation"])
def test_summaries_of_gpu_tensors_equal_the_cpu_ones(dtype: torch.dtype, shape: list[int]) -> None:
    torch.manual_seed(0)
    values = torch.randn(shape).to(dtype)
    on_gpu, on_cpu = _summary(values.to(CUDA)), _summary(values)
    assert on_gpu["shape"] == on_cpu["shape"] and on_gpu["dtype"] == on_cpu["dtype"]
    assert set(on_gpu) == set(on_cpu)
    for key, want in on_cpu.get("stats", {}).items():
        if isinstance(want, float):
            assert on_gpu["stats"][key] == pytest.approx(want, rel=1e-2, abs=1e-2), key
    if "data" in on_cpu:
        torch.testing.assert_close(torch.tensor(on_gpu["data"]), torch.tensor(on_cpu["data"]))
