"""The capture: record a forward, hook every backward, and build the graph dict.

``with capture() as cap:`` records ops and module calls; it satisfies the run
stage's ``RunObserver`` (``assigned`` names tensors, ``backward`` runs backward
with a hook on every node). ``cap.graph(output)`` walks ``next_functions`` from
the output, runs backward itself if the program did not, and returns the dict
that ``gradtrace.schema.GraphModel`` describes. ``trace_tensor`` does the same
for a tensor made without a capture: leaves, gradients and saved tensors only.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from types import TracebackType
from typing import Any, Literal, Self

import torch

from gradtrace.core.errors import Span
from gradtrace.core.limits import DEFAULT_LIMITS, Limits
from gradtrace.tracer.build import GraphBuilder
from gradtrace.tracer.forward import ForwardRecorder, ModulePaths
from gradtrace.tracer.hooks import plain_hooks, unhook_all
from gradtrace.tracer.nodes import ACCUMULATE, saved_values, scalar_locals
from gradtrace.tracer.notes import note
from gradtrace.tracer.record import Node, PassRecord, State, tensor_key
from gradtrace.tracer.stack import free_graph_with_tensor, release_on_big_stack
from gradtrace.tracer.summary import Summaries
from gradtrace.tracer.walk import Walk

BackwardMode = Literal["auto", "ones", "none"] | bool
DETAIL_NODES = 500  # above this, leave out saved tensors, op gradient lists and chain steps
CHAIN_NODES = 2_000  # nodes asked for their local derivatives
DEEP_GRAPH = 20_000  # graphs this big are freed on the reaper thread


@contextmanager
def paused() -> Iterator[None]:
    """Our own tensor calls must not be recorded as the user's ops."""
    with torch._C.DisableTorchFunction():
        yield


@contextmanager
def gc_paused() -> Iterator[None]:
    """The collector's passes over thousands of young tensors and dicts cost more than the trace."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            resume_gc()


_frozen = False  # objects were frozen in this process (by its owner, not by us)


def frozen_by_owner() -> None:
    """Say that this process keeps objects frozen (``gc.freeze()``), so that
    :func:`resume_gc` never needs to count them."""
    global _frozen
    _frozen = True


def resume_gc() -> None:
    """Turn the collector back on without a pass over everything made while it was off.

    Enabled plainly, its next young collection visits every container allocated in the
    meantime (a 10,000-node graph leaves over 100,000 dicts, lists and tuples: some 30 ms)
    only to find them alive. ``freeze`` then ``unfreeze`` moves them to the oldest
    generation in constant time instead; full collections still visit them. Skipped when
    the process froze objects itself: ``unfreeze`` would hand those back to the collector.
    ``gc.get_freeze_count()`` walks every frozen object (25 ms in a worker that froze
    torch), so once it has seen any it is not asked again.
    """
    global _frozen
    if not _frozen:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        else:
            _frozen = True
    gc.enable()


def _weakly(ref: weakref.WeakMethod[Callable[..., None]]) -> Callable[..., None]:
    def call(*args: Any, **kwargs: Any) -> None:
        method = ref()
        if method is not None:
            method(*args, **kwargs)

    return call


def _on_hook(append: Callable[[Any], None], node: Node, grad_inputs: Any, grad_outputs: Any) -> None:
    """A node ran in backward. Must return None: a returned tuple would replace the gradients."""
    append((node, grad_inputs, grad_outputs))


def _on_leaf_prehook(node: Node, record: PassRecord, grad_outputs: Any) -> None:
    """An AccumulateGrad is about to run: keep its incoming gradient and what ``.grad`` will hold.

    Holding the incoming gradient makes torch copy it into ``.grad`` rather than take its
    storage, so a later pass or ``zero_()`` cannot change what we keep; ``.grad`` after the
    pass is then that gradient, plus what ``.grad`` held before. No copy of our own.
    """
    incoming = grad_outputs[0] if grad_outputs else None
    before = node.variable.grad
    if incoming is None:
        if before is not None:
            record.leaf_grads[node] = before.detach().clone()
    else:
        record.leaf_grads[node] = incoming if before is None else before.detach() + incoming
    record.fired.append((node, (), grad_outputs))


def _on_leaf_hook(node: Node, record: PassRecord, grad_inputs: Any, grad_outputs: Any) -> None:
    """An AccumulateGrad ran (a leaf with post-accumulate hooks, which may change ``.grad``).

    ``.grad`` may share the incoming gradient's storage (torch steals it), which a later
    pass adds into: then one copy serves as both the increment and the value after.
    """
    incoming = grad_outputs[0] if grad_outputs else None
    after = node.variable.grad
    if after is not None:
        if incoming is not None and after.data_ptr() == incoming.data_ptr():
            after = after.detach().clone()
            grad_outputs = (after, *grad_outputs[1:])
        else:
            after = after.detach().clone()
        record.leaf_grads[node] = after
    record.fired.append((node, grad_inputs, grad_outputs))


class Capture:
    """Records a run and turns it into the graph dict; satisfies ``RunObserver``."""

    def __init__(
        self, span_source: Callable[[], Span | None] | None = None, *, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self.state = State()
        self.walk = Walk(limits.graph_nodes)
        self.summaries = Summaries()
        on_backward = _weakly(weakref.WeakMethod(self._program_backward))  # no cycle: freed by refcount
        self._recorder = ForwardRecorder(self.state, span_source or (lambda: None), on_backward)
        self._modules = ModulePaths(self._recorder, self.state)
        self._gc_was_enabled = False
        self._inspected: set[Node] = set()
        # The node wrappers we hold make the graph's eventual free deep: do it on a big stack.
        weakref.finalize(self, release_on_big_stack, (self.state, self.walk, self._inspected)).atexit = False

    # -- recording -------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._modules.install()
        self._recorder.__enter__()
        self._gc_was_enabled = gc.isenabled()
        gc.disable()  # the collector's passes over many young tensors cost more than the trace
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._recorder.__exit__(exc_type, exc, tb)
        finally:
            self._modules.remove()
            if self._gc_was_enabled:
                resume_gc()
            last, self._recorder.last = self._recorder.last, None
            if last is not None and len(self.state.ops) > DEEP_GRAPH:
                # Keep our node wrappers until the user's last result dies, so that its
                # (deep) graph is freed on the reaper thread, not on the user's stack.
                weakref.finalize(last, release_on_big_stack, (self.state, self.walk)).atexit = False

    # -- RunObserver -----------------------------------------------------------------------
    def function_entered(self, name: str) -> None:
        """A program function's ops are grouped under its name, as a module's are under its path."""
        stack = self._recorder.modules
        stack.append(f"{stack[-1]}.{name}" if stack and stack[-1] else name)

    def function_exited(self) -> None:
        if self._recorder.modules:
            self._recorder.modules.pop()

    def assigned(self, name: str, value: object, span: Span | None) -> None:
        """The user bound ``name``: name the tensor (or tensors, or module) it holds."""
        with paused():
            self.state.variables.pop(name, None)
            if isinstance(value, torch.Tensor):
                self.state.name(value, name, span)
                self.state.variables[name] = value
            elif isinstance(value, tuple | list) and len(value) <= 64:
                for i, v in enumerate(value):
                    if isinstance(v, torch.Tensor):
                        self.state.name(v, f"{name}[{i}]", span)
            elif isinstance(value, torch.nn.Module):
                self.state.module_names[id(value)] = name
                self.state.modules[name] = value

    def backward(
        self,
        tensor: torch.Tensor,
        gradient: torch.Tensor | None = None,
        retain_graph: bool | None = None,
        span: Span | None = None,
        *,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Run ``tensor.backward`` with a hook on every node of its graph, removed after."""
        with paused():
            root = tensor.grad_fn
            nodes = self.walk.add([root]) if root is not None else []
            self._inspect(nodes)
            record = PassRecord(tensor, span)
            handles: list[Any] = []
            try:
                self._hook_all(nodes, record, handles)
                torch.autograd.backward(
                    tensor, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs
                )
            finally:
                unhook_all(handles)
            self.state.passes.append(record)

    @staticmethod
    def _hook_all(nodes: list[Node], record: PassRecord, handles: list[Any]) -> None:
        """One small partial per node around a module-level function: no bound method, no closure."""
        append, keep = record.fired.append, handles.append
        with plain_hooks():
            for node in nodes:
                if type(node) is not ACCUMULATE:
                    keep(node.register_hook(partial(_on_hook, append, node)))
                elif node.variable._post_accumulate_grad_hooks is None:
                    keep(node.register_prehook(partial(_on_leaf_prehook, node, record)))
                else:  # the user's hooks may change .grad after accumulation: read it after
                    keep(node.register_hook(partial(_on_leaf_hook, node, record)))

    def _program_backward(
        self,
        tensor: torch.Tensor,
        gradient: torch.Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """``t.backward(...)`` seen by the mode inside a ``with capture()`` block."""
        span = self._recorder.span_source()
        self.backward(tensor, gradient, retain_graph, span, create_graph=create_graph, inputs=inputs)

    def _inspect(self, nodes: list[Node]) -> None:
        """Before backward frees them: saved tensors and local derivatives of new nodes."""
        if len(self.walk.nodes) > DETAIL_NODES:
            return
        s = self.state
        with torch.no_grad():
            for node in nodes:
                if node in self._inspected:
                    continue
                self._inspected.add(node)
                s.saved[node] = saved_values(node, self.summaries, tensors=True)
                if len(s.locals) < CHAIN_NODES:
                    local = scalar_locals(node)
                    if local is not None:
                        s.locals[node] = local

    # -- the graph -------------------------------------------------------------------------
    def graph(
        self,
        output: torch.Tensor | None,
        *,
        names: Mapping[str, object] | None = None,
        spans: Mapping[str, Span] | None = None,
        params: Mapping[str, torch.Tensor] | None = None,
        backward: BackwardMode = "auto",
        device: str | None = None,
    ) -> dict[str, Any]:
        """The graph dict of ``output`` (see ``gradtrace.schema.GraphModel``)."""
        with paused(), gc_paused():
            for name, value in (names or {}).items():
                if name not in self.state.variables:
                    self.assigned(name, value, (spans or {}).get(name))
            param_ids = {id(p): name for name, p in (params or {}).items()}
            for owner, module in self.state.modules.items():  # sandbox: model.weight, model.0.bias
                for pname, param in module.named_parameters():
                    param_ids.setdefault(id(param), f"{owner}.{pname}")
            for p in (params or {}).values():
                self.state.hold(p)
            notes: list[dict[str, Any]] = []
            self._auto_backward(output, backward, notes)
            return self._build(output, param_ids, notes, device)

    def _auto_backward(self, output: torch.Tensor | None, mode: BackwardMode, notes: list[Any]) -> None:
        if mode in (False, "none") or self.state.passes or not isinstance(output, torch.Tensor):
            return
        if not output.requires_grad:
            return
        if output.numel() == 1:
            try:
                self.backward(output)
            except RuntimeError as exc:  # the user already ran backward and torch freed the graph
                if "second time" not in str(exc):
                    raise
                notes.append(note("graph_freed"))
        elif mode == "ones":
            self.backward(output, torch.ones_like(output))
            notes.append(note("ones_gradient"))
        else:
            notes.append(note("non_scalar_output"))

    def _build(
        self, output: torch.Tensor | None, params: dict[int, str], notes: list[Any], device: str | None
    ) -> dict[str, Any]:
        output = output if isinstance(output, torch.Tensor) else None
        nodes = self._shown_nodes(output)
        shown = set(nodes)
        passes = [p for p in self.state.passes if p.root.grad_fn in shown or p.root.grad_fn is None]
        if len(passes) < len(self.state.passes):
            notes.append(note("other_passes", count=len(self.state.passes) - len(passes)))
        detail = len(nodes) <= DETAIL_NODES
        if not detail:
            notes.append(note("compact"))
        builder = GraphBuilder(
            self.state,
            nodes,
            self.walk.children,
            passes,
            self.summaries,
            output=output,
            params=params,
            detail=detail,
        )
        graph = builder.build()
        if not nodes:
            notes.insert(0, note("no_autograd_graph"))
        if output is not None and len(nodes) > DEEP_GRAPH:
            free_graph_with_tensor(output)
        out_id = builder.tensor_ids.get(tensor_key(output)) if output is not None else None
        device = device or (str(output.device) if output is not None else "cpu")
        head: dict[str, Any] = {"schema_version": 1, "device": device}
        if out_id is not None:
            head["output"] = out_id
        return {**head, **graph, "notes": notes}

    def _shown_nodes(self, output: torch.Tensor | None) -> list[Node]:
        """The output's graph, the graphs of the user's variables, and what was cut from them."""
        s = self.state
        tensors = [output, *s.variables.values()]
        roots: list[Node] = [t.grad_fn for t in tensors if t is not None and t.grad_fn is not None]
        if not roots and s.passes:
            roots = [s.passes[-1].root.grad_fn]
        nodes = self.walk.add(roots)
        while True:
            shown = set(nodes)
            extra = [n for n in self._cut_sources(nodes) if n not in shown]
            if not extra:
                return nodes
            roots.extend(extra)
            nodes = self.walk.add(roots)

    def _cut_sources(self, nodes: list[Node]) -> list[Node]:
        """Nodes that made tensors which a detach or no_grad turned into constants we show."""
        s = self.state
        shown_constants = [t for n in nodes if n in s.ops for _, t in s.ops[n].constants]
        out = []
        for t in [*shown_constants, *s.variables.values()]:
            mark = s.marks.get(id(t))
            if mark is not None and isinstance(mark.cut_from, tuple):
                out.append(mark.cut_from[0])
        return out


def capture(
    span_source: Callable[[], Span | None] | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> Capture:
    """``with capture() as cap: ...`` then ``cap.graph(output)``."""
    return Capture(span_source, limits=limits)


def trace_tensor(
    output: torch.Tensor,
    *,
    params: Mapping[str, torch.Tensor] | None = None,
    names: Mapping[str, object] | None = None,
    backward: BackwardMode = "auto",
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """The graph dict of a tensor made without a capture (forward values of leaves and output)."""
    return Capture(limits=limits).graph(output, names=names, params=params, backward=backward)
