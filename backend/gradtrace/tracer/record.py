"""What the forward run leaves behind, keyed the way autograd keys it.

A tensor with a ``grad_fn`` is keyed by ``(grad_fn, output_nr)``: that is how the
graph refers to it, and multi-output nodes (split, max with indices) have one
tensor per slot. Any other tensor (a leaf, a constant) is keyed by ``id`` and
kept alive here so that the id stays its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from gradtrace.core.errors import Span
from gradtrace.tracer.summary import CAP

Node = Any
Key = tuple[Node, int] | int


def tensor_key(t: torch.Tensor) -> Key:
    gf = t.grad_fn
    return (gf, t.output_nr) if gf is not None else id(t)


def snapshot(t: torch.Tensor) -> torch.Tensor:
    """The value now: a copy when small (cheap, and immune to later in-place edits)."""
    d = t.detach()
    return d.clone() if d.numel() <= CAP else d


@dataclass(slots=True)
class OpRecord:
    """Where an autograd node was made, and the constant tensors it was given."""

    index: int
    span: Span | None
    module: str | None
    constants: list[tuple[int, torch.Tensor]] = field(default_factory=list)


@dataclass(slots=True)
class TensorMark:
    """A tensor the graph does not reach by itself: a constant or a detached result."""

    tensor: torch.Tensor
    value: torch.Tensor
    span: Span | None
    module: str | None
    cut_from: Key | None = None


@dataclass
class PassRecord:
    """One backward call: where it started, and (node, grad_inputs, grad_outputs) as hooks fired.

    ``leaf_grads`` holds each reached leaf's ``.grad`` right after its AccumulateGrad ran:
    what the pass left there, which a later ``zero_()`` or pass would otherwise overwrite.
    """

    root: torch.Tensor
    span: Span | None
    fired: list[tuple[Node, tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=list)
    leaf_grads: dict[Node, torch.Tensor] = field(default_factory=dict)


@dataclass
class State:
    """Everything the capture holds; released on a big-stack thread (see ``stack``)."""

    values: dict[Key, torch.Tensor] = field(default_factory=dict)  # forward value per tensor (detached)
    versions: dict[Key, int] = field(default_factory=dict)  # its _version then: later edits are noticed
    ops: dict[Node, OpRecord] = field(default_factory=dict)
    marks: dict[int, TensorMark] = field(default_factory=dict)  # constants and cut results
    leaves: dict[int, tuple[int, torch.Tensor]] = field(default_factory=dict)  # id -> (version, value)
    names: dict[Key, str] = field(default_factory=dict)
    held: dict[int, torch.Tensor] = field(default_factory=dict)  # keeps id keys valid
    variables: dict[str, torch.Tensor] = field(default_factory=dict)
    module_names: dict[int, str] = field(default_factory=dict)
    modules: dict[str, torch.nn.Module] = field(default_factory=dict)  # the user's module variables
    spans: dict[Key, Span] = field(default_factory=dict)  # where each named tensor was bound
    passes: list[PassRecord] = field(default_factory=list)
    saved: dict[Node, list[dict[str, Any]]] = field(default_factory=dict)
    locals: dict[Node, list[torch.Tensor | None]] = field(default_factory=dict)  # ∂out/∂input_i
    ops_seen: int = 0

    def hold(self, t: torch.Tensor) -> int:
        self.held[id(t)] = t
        return id(t)

    def name(self, t: torch.Tensor, name: str, span: Span | None) -> None:
        key = tensor_key(t)
        if isinstance(key, int):
            self.hold(t)
        self.names[key] = name
        if span is not None:
            self.spans[key] = span
