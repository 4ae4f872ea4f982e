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
class PassLeaf:
    """A leaf one pass reached: the value its graph read, the gradient delivered, ``.grad`` after."""

    tensor: torch.Tensor
    value: torch.Tensor
    grad: torch.Tensor | None
    grad_after: torch.Tensor | None


@dataclass
class PassRecord:
    """One backward call: where it started, and (node, grad_inputs, grad_outputs) as hooks fired.

    ``leaf_grads`` holds each reached leaf's ``.grad`` right after its AccumulateGrad ran:
    what the pass left there, which a later ``zero_()`` or pass would otherwise overwrite;
    ``delivered`` the gradient that reached it. ``index`` counts every pass of the run.
    """

    root: torch.Tensor
    span: Span | None
    fired: list[tuple[Node, tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=list)
    leaf_grads: dict[Node, torch.Tensor] = field(default_factory=dict)
    delivered: dict[Node, torch.Tensor] = field(default_factory=dict)
    leaves: list[PassLeaf] = field(default_factory=list)
    index: int = 0
    call: str = "backward"
    automatic: bool = False
    graph_roots: tuple[Node, ...] = ()  # where this pass's graph starts (several for autograd.grad)
    new_nodes: list[Node] = field(default_factory=list)  # nodes first inspected by this pass


@dataclass(slots=True)
class IterationRecord:
    """What the loss plot needs of every pass, kept even when the pass itself is sampled out."""

    index: int
    loss: float | None
    params: list[tuple[torch.Tensor, float]]


@dataclass(slots=True)
class UpdateRecord:
    """A change the program made to a leaf between passes (see ``gradtrace.schema.Update``)."""

    kind: str
    leaf: torch.Tensor | None
    before: torch.Tensor | dict[str, Any] | None  # a big tensor's summary, made at once
    after: torch.Tensor | dict[str, Any] | None
    after_pass: int | None
    span: Span | None
    detail: dict[str, Any] = field(default_factory=dict)


FIRST_PASSES = 3  # a long loop keeps full detail for its first passes,
LAST_PASSES = 3  # its last ones,
MIDDLE_PASSES = 10  # and about this many evenly spread between


class PassLog:
    """Every pass's number, but full records only for the first, the last and a thinning sample.

    The sample between keeps passes whose index is a multiple of a stride that doubles
    whenever it holds twice ``MIDDLE_PASSES``: memory stays bounded however long the loop.
    """

    def __init__(self) -> None:
        self.count = 0
        self.first: list[PassRecord] = []
        self.middle: list[PassRecord] = []
        self.last: list[PassRecord] = []
        self.stride = 1
        self.dropped: list[PassRecord] = []  # handed back once, to free what only they held

    def add(self, record: PassRecord) -> None:
        record.index = self.count
        self.count += 1
        if len(self.first) < FIRST_PASSES:
            self.first.append(record)
            return
        self.last.append(record)
        if len(self.last) > LAST_PASSES:
            self._to_middle(self.last.pop(0))

    def _to_middle(self, record: PassRecord) -> None:
        if record.index % self.stride:
            self.dropped.append(record)
            return
        self.middle.append(record)
        if len(self.middle) >= 2 * MIDDLE_PASSES:
            self.stride *= 2
            keep = [r for r in self.middle if r.index % self.stride == 0]
            self.dropped.extend(r for r in self.middle if r.index % self.stride)
            self.middle = keep

    def take_dropped(self) -> list[PassRecord]:
        out, self.dropped = self.dropped, []
        return out

    def kept(self) -> list[PassRecord]:
        """The passes shown in detail, in order: first, about ``MIDDLE_PASSES`` between, last."""
        middle = self.middle
        if len(middle) > MIDDLE_PASSES:
            step = (len(middle) - 1) / (MIDDLE_PASSES - 1)
            middle = [middle[round(i * step)] for i in range(MIDDLE_PASSES)]
        return [*self.first, *middle, *self.last]

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0


@dataclass
class State:
    """Everything the capture holds; released on a big-stack thread (see ``stack``)."""

    values: dict[Key, torch.Tensor] = field(default_factory=dict)  # forward value per tensor (detached)
    versions: dict[Key, int] = field(default_factory=dict)  # its _version then: later edits are noticed
    ops: dict[Node, OpRecord] = field(default_factory=dict)
    marks: dict[int, TensorMark] = field(default_factory=dict)  # constants and cut results
    # results of ops on cut results (a detach/no_grad island): id -> (weak ref, the graph
    # tensor the island was cut from); weak, since most never reach the graph
    derived: dict[int, tuple[Any, Key]] = field(default_factory=dict)
    cuts: int = 0  # cut results so far: until one exists, ops without grad_fn need no look
    leaves: dict[int, tuple[int, torch.Tensor]] = field(default_factory=dict)  # id -> (version, value)
    names: dict[Key, str] = field(default_factory=dict)
    held: dict[int, torch.Tensor] = field(default_factory=dict)  # keeps id keys valid
    variables: dict[str, torch.Tensor] = field(default_factory=dict)
    module_names: dict[int, str] = field(default_factory=dict)
    modules: dict[str, torch.nn.Module] = field(default_factory=dict)  # the user's module variables
    spans: dict[Key, Span] = field(default_factory=dict)  # where each named tensor was bound
    passes: PassLog = field(default_factory=PassLog)
    iterations: list[IterationRecord] = field(default_factory=list)  # one per pass, sampled out or not
    updates: list[UpdateRecord] = field(default_factory=list)
    first_names: dict[int, str] = field(default_factory=dict)  # a leaf's first name, never a later alias
    saved: dict[Node, list[tuple[str, Any]]] = field(default_factory=dict)  # raw, see nodes.saved_raw
    locals: dict[Node, list[torch.Tensor | None]] = field(default_factory=dict)  # ∂out/∂input_i
    ops_seen: int = 0
    kept_elements: int = 0  # elements of the values kept for the graph (the run charges them)

    def cut_source(self, t: torch.Tensor) -> Key | None:
        """The graph tensor ``t`` was cut from (by detach, no_grad, or ops on such a result)."""
        mark = self.marks.get(id(t))
        if mark is not None and mark.tensor is t:
            return mark.cut_from
        derived = self.derived.get(id(t))
        if derived is not None and derived[0]() is t:
            return derived[1]
        return None

    def hold(self, t: torch.Tensor) -> int:
        self.held[id(t)] = t
        return id(t)

    def keep_leaf_value(self, leaf: torch.Tensor) -> None:
        """``leaf`` is about to change in place: what the graphs read of it must not change too."""
        known = self.leaves.get(id(leaf))
        if known is not None and known[1].data_ptr() == leaf.data_ptr():
            self.leaves[id(leaf)] = (known[0], known[1].clone())

    def name(self, t: torch.Tensor, name: str, span: Span | None) -> None:
        """A leaf keeps the first name the program gave it (``a``, not a later alias or a loop
        variable such as ``param``); a graph result, the last."""
        key = tensor_key(t)
        if isinstance(key, int):
            self.hold(t)
            if key in self.names:
                return
        self.names[key] = name
        if span is not None:
            self.spans[key] = span
