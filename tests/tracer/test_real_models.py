"""Real models, traced beside the hooks they already carry, against oracles that are not ours.

Every model of ``models.CASES`` is traced with and without ``capture``, bare and with
each kind of hook a model may already have (module full-backward hooks and pre-hooks,
tensor hooks that change the gradient, ``AccumulateGrad`` pre- and post-hooks, and the
leftovers of a tool that hooked every module's output nodes). For each:

- every parameter's ``.grad`` equals a plain ``backward()`` on the same model, built
  twice from one seed with the same hooks, and so does the gradient in the graph;
- the op nodes and edges equal an independent ``next_functions`` walk;
- the hooks of the model, its parameters and their ``AccumulateGrad`` nodes are
  afterwards exactly those it had (read through torch's public handles), and each
  of the user's hooks ran as often as under the plain ``backward()``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import torch
from models import CASES, Case, Checkpointed
from test_oracles import independent_walk, our_structure, output_part
from torch import nn

import gradtrace
from gradtrace.schema import GraphModel

Calls = Counter[str]
pytestmark = pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning")


def _acc(param: torch.Tensor) -> Any:
    """The parameter's AccumulateGrad node (torch caches one per leaf while it is held)."""
    return param.view_as(param).grad_fn.next_functions[0][0]


def _count(calls: Calls, key: str, result: Any = None) -> Callable[..., Any]:
    def hook(*_args: Any) -> Any:
        calls[key] += 1
        return result

    return hook


def _module_backward(model: nn.Module, calls: Calls, keep: list[Any]) -> None:
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    for name, module in [("model", model), *linears]:
        module.register_full_backward_hook(_count(calls, f"backward {name}"))


def _module_backward_pre(model: nn.Module, calls: Calls, keep: list[Any]) -> None:
    model.register_full_backward_pre_hook(_count(calls, "pre model"))
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            module.register_full_backward_pre_hook(_count(calls, f"pre {name}"))


def _tensor_hooks(model: nn.Module, calls: Calls, keep: list[Any]) -> None:
    for name, param in model.named_parameters():

        def double(grad: torch.Tensor, name: str = name) -> torch.Tensor:
            calls[name] += 1
            return grad * 2

        param.register_hook(double)


def _acc_hooks(model: nn.Module, calls: Calls, keep: list[Any]) -> None:
    """As DDP and Megatron do: hooks on each AccumulateGrad, the nodes held by the user."""
    for name, param in model.named_parameters():
        acc = _acc(param)
        keep.append(acc)
        acc.register_prehook(_count(calls, f"acc pre {name}"))
        acc.register_hook(_count(calls, f"acc post {name}"))
        param.register_post_accumulate_grad_hook(_count(calls, f"post accumulate {name}"))


def _leftovers(model: nn.Module, calls: Calls, keep: list[Any]) -> None:
    """A tool that hooked the autograd node of every module output and never cleaned up."""

    def on_output(_module: nn.Module, _args: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and out.grad_fn is not None:
            out.grad_fn.register_hook(_count(calls, "node post"))
            out.grad_fn.register_prehook(_count(calls, "node pre"))
            out.register_hook(_count(calls, "tensor"))

    for module in model.modules():
        module.register_forward_hook(on_output)


HOOKS: dict[str, Callable[[nn.Module, Calls, list[Any]], None]] = {
    "none": lambda model, calls, keep: None,
    "module_backward": _module_backward,
    "module_backward_pre": _module_backward_pre,
    "tensor": _tensor_hooks,
    "accumulate_grad": _acc_hooks,
    "leftovers": _leftovers,
}


def _hooks_of(model: nn.Module) -> dict[str, Any]:
    """Every hook the model, its parameters and their AccumulateGrad nodes carry, by handle id."""
    found: dict[str, Any] = {}
    for name, module in model.named_modules():
        for kind in ("_backward_hooks", "_backward_pre_hooks", "_forward_hooks", "_forward_pre_hooks"):
            found[f"{name}.{kind}"] = list(getattr(module, kind))
    for name, param in model.named_parameters():
        found[f"{name} tensor"] = list(param._backward_hooks or {})
        found[f"{name} post accumulate"] = list(param._post_accumulate_grad_hooks or {})
        acc = _acc(param)
        for kind in ("register_prehook", "register_hook"):
            probe = getattr(acc, kind)(lambda *_: None)
            found[f"{name} acc {kind}"] = [k for k in probe.hooks_dict_ref() if k != probe.id]
            probe.remove()
    return found


def _grads(model: nn.Module) -> dict[str, torch.Tensor | None]:
    return {name: p.grad for name, p in model.named_parameters()}


def _plain(case: Case, hooks: str) -> tuple[dict[str, torch.Tensor | None], Calls]:
    model, inputs = case.make()
    calls: Calls = Counter()
    keep: list[Any] = []
    HOOKS[hooks](model, calls, keep)
    case.loss(model, inputs).backward()
    return _grads(model), calls


def traced_against_a_walk(
    case: Case, model: nn.Module, inputs: tuple[torch.Tensor, ...], captured: bool
) -> dict[str, Any]:
    """The model's graph, traced with or without ``capture``; valid, and with the op nodes
    and edges of an independent ``next_functions`` walk."""
    leaves = dict(model.named_parameters())
    leaves.update({f"input{i}": x for i, x in enumerate(inputs) if x.requires_grad})
    names = {id(p): n for n, p in leaves.items()}
    if captured:
        with gradtrace.capture() as cap:
            loss = case.loss(model, inputs)
        walked = independent_walk(loss, names)
        graph: dict[str, Any] = output_part(cap.trace(loss, params=leaves).data)
    else:
        loss = case.loss(model, inputs)
        walked = independent_walk(loss, names)
        graph = gradtrace.trace(loss, params=leaves).data
    GraphModel.model_validate(graph)
    assert our_structure(graph) == walked[:2]
    return graph


@pytest.mark.parametrize("captured", [False, True], ids=["trace", "capture"])
@pytest.mark.parametrize("hooks", list(HOOKS))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_real_model_traced_beside_its_hooks(case: Case, hooks: str, captured: bool) -> None:
    want_grads, want_calls = _plain(case, hooks)

    model, inputs = case.make()
    calls: Calls = Counter()
    keep: list[Any] = []
    HOOKS[hooks](model, calls, keep)
    before = _hooks_of(model)
    params = dict(model.named_parameters())
    graph = traced_against_a_walk(case, model, inputs, captured)
    assert calls == want_calls
    for name, grad in _grads(model).items():
        torch.testing.assert_close(grad, want_grads[name], msg=name)
    leaves = {n.get("name"): n for n in graph["nodes"] if n["kind"] == "tensor" and n.get("is_leaf")}
    for name in params:
        shown = leaves.get(name)
        if shown is not None and "data" in shown.get("grad", {}):
            torch.testing.assert_close(torch.tensor(shown["grad"]["data"]), want_grads[name], msg=name)
    assert _hooks_of(model) == before


@pytest.mark.parametrize("reentrant", [True, False])
@pytest.mark.parametrize("captured", [False, True], ids=["trace", "capture"])
def test_parameters_a_reentrant_checkpoint_hides_are_named(reentrant: bool, captured: bool) -> None:
    torch.manual_seed(0)
    model, x = Checkpointed(reentrant=reentrant), torch.randn(3, 6)
    params = dict(model.named_parameters())
    if captured:
        with gradtrace.capture() as cap:
            loss = model(x).pow(2).mean()
        graph = cap.trace(loss, params=params).data
    else:
        graph = gradtrace.trace(model(x).pow(2).mean(), params=params).data
    hidden = [n for n in graph["notes"] if n["code"] == "hidden_parameters"]
    if not reentrant:
        assert hidden == []
        return
    (note,) = hidden
    text = note["message"]["en"]
    inside = ["block.0.weight", "block.0.bias", "block.2.weight", "block.2.bias"]
    assert text.startswith("4 parameter(s)") and all(name in text for name in inside)
    assert "fc_in.weight" not in text and "block.0.weight" in note["message"]["ko"]
