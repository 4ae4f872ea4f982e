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
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from types import TracebackType
from typing import Any, Literal, Self, cast

import torch

from gradtrace.core.errors import Span
from gradtrace.core.graph_types import SCHEMA_VERSION
from gradtrace.core.limits import DEFAULT_LIMITS, Limits
from gradtrace.tracer.build import GraphBuilder
from gradtrace.tracer.forward import ForwardRecorder, ModulePaths
from gradtrace.tracer.hooks import plain_hooks, unhook_all
from gradtrace.tracer.nodes import ACCUMULATE, saved_raw, scalar_locals
from gradtrace.tracer.notes import note
from gradtrace.tracer.record import (
    IterationRecord,
    Node,
    PassLeaf,
    PassRecord,
    State,
    UpdateRecord,
    snapshot,
    tensor_key,
)
from gradtrace.tracer.stack import free_graph_with_tensor, release_on_big_stack
from gradtrace.tracer.summary import Summaries
from gradtrace.tracer.walk import Walk

BackwardMode = Literal["auto", "ones", "none"] | bool
DETAIL_NODES = 500  # above this, leave out saved tensors, op gradient lists and chain steps
CHAIN_NODES = 2_000  # nodes asked for their local derivatives
DEEP_GRAPH = 20_000  # graphs this big are freed on the reaper thread
SHOWN_NODES = 5_000  # autograd nodes of the passes shown in detail, together (the last one: always)
PLOTTED = 16  # single-number leaves a pass may have and still get their own curve on the loss plot


def paused() -> AbstractContextManager[None]:
    """Our own tensor calls must not be recorded as the user's ops (torch's own context
    manager: a generator-based one costs microseconds per backward and assignment)."""
    return cast(AbstractContextManager[None], torch._C.DisableTorchFunction())


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


def _update_pass(update: UpdateRecord) -> int:
    """The pass an update follows; -1 for those before any pass."""
    return -1 if update.after_pass is None else update.after_pass


def _output_count(node: Node) -> int:
    """How many tensors a node's forward made (the metadata of its backward's inputs)."""
    try:
        return max(len(node._input_metadata), 1)
    except (AttributeError, RuntimeError):
        return 1


def _returning(ref: weakref.WeakMethod[Callable[..., Any]]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        method = ref()
        return method(*args, **kwargs) if method is not None else torch.autograd.grad(*args, **kwargs)

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
        record.delivered[node] = incoming
    record.fired.append((node, (), grad_outputs))


def _on_leaf_hook(node: Node, record: PassRecord, grad_inputs: Any, grad_outputs: Any) -> None:
    """An AccumulateGrad ran (a leaf with post-accumulate hooks, which may change ``.grad``).

    ``.grad`` may share the incoming gradient's storage (torch steals it), which a later
    pass adds into: then one copy serves as both the increment and the value after.
    """
    incoming = grad_outputs[0] if grad_outputs else None
    after = node.variable.grad
    if incoming is not None:
        record.delivered[node] = incoming
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
        on_grad = _returning(weakref.WeakMethod(self._program_grad))
        self._recorder = ForwardRecorder(self.state, span_source or (lambda: None), on_backward, on_grad)
        self._modules = ModulePaths(self._recorder, self.state)
        self._gc_was_enabled = False
        self._inspected: set[Node] = set()  # nodes whose saved tensors were read
        # The node wrappers we hold make the graph's eventual free deep: do it on a big stack.
        weakref.finalize(self, release_on_big_stack, (self.state, self.walk, self._inspected)).atexit = False

    # -- recording -------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._modules.install()
        self._recorder.updates.install()
        self._recorder.__enter__()
        self._gc_was_enabled = gc.isenabled()
        gc.disable()  # the collector's passes over many young tensors cost more than the trace
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._recorder.updates.resume()  # the mode must be on the stack to leave it
            self._recorder.__exit__(exc_type, exc, tb)
        finally:
            self._modules.remove()
            self._recorder.updates.remove()
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
        if self._recorder.updates.set_aside:
            self._recorder.updates.resume()
        stack = self._recorder.modules
        stack.append(f"{stack[-1]}.{name}" if stack and stack[-1] else name)

    def function_exited(self) -> None:
        if self._recorder.modules:
            self._recorder.modules.pop()

    def recorded(self) -> tuple[int, int]:
        """Ops recorded so far and the elements of the values kept for them: the run charges
        the tracer's work as the program goes, not after it ends."""
        return self.state.ops_seen, self.state.kept_elements

    def assigned(self, name: str, value: object, span: Span | None) -> None:
        """The user bound ``name``: name the tensor (or tensors, or module) it holds."""
        if self._recorder.updates.set_aside:
            self._recorder.updates.resume()
        with paused():
            old = self.state.variables.pop(name, None)
            if isinstance(value, torch.Tensor):
                if old is not None and old is not value:
                    self._recorder.updates.rebound(old, value, span)
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
        automatic: bool = False,
    ) -> None:
        """Run ``tensor.backward`` with a hook on every node of its graph, removed after."""
        if self._recorder.updates.set_aside:
            self._recorder.updates.resume()
        with paused():
            roots = (tensor.grad_fn,) if tensor.grad_fn is not None else ()
            record = PassRecord(tensor, span, automatic=automatic, graph_roots=roots)
            nodes = self._walk_pass(record)
            self._recorder.updates.before_pass()
            handles: list[Any] = []
            try:
                self._hook_all(nodes, record, handles)
                torch.autograd.backward(
                    tensor, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs
                )
            finally:
                unhook_all(handles)
            self._finish_pass(record)

    def _program_grad(self, *args: Any, **kwargs: Any) -> Any:
        """``torch.autograd.grad(outputs, inputs, ...)``: a pass too, that leaves ``.grad`` alone."""
        span = self._recorder.span_source()
        outputs = args[0] if args else kwargs.get("outputs")
        inputs = args[1] if len(args) > 1 else kwargs.get("inputs")
        with paused():
            outs = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs or ())
            outs = [o for o in outs if isinstance(o, torch.Tensor)]
            roots = tuple(o.grad_fn for o in outs if o.grad_fn is not None)
            if not outs:
                return torch.autograd.grad(*args, **kwargs)
            record = PassRecord(outs[0], span, call="grad", graph_roots=roots)
            nodes = self._walk_pass(record)
            handles: list[Any] = []
            try:
                self._hook_all(nodes, record, handles)
                result = torch.autograd.grad(*args, **kwargs)
            finally:
                unhook_all(handles)
            xs = [inputs] if isinstance(inputs, torch.Tensor) else list(inputs or ())
            for x, g in zip(xs, result, strict=False):
                if isinstance(x, torch.Tensor) and x.grad_fn is None and x.requires_grad:
                    after = x.grad.detach().clone() if x.grad is not None else None
                    record.leaves.append(PassLeaf(x, self._value_read(x), g, after))
            self._finish_pass(record)
        return result

    def _walk_pass(self, record: PassRecord) -> list[Node]:
        """The pass's graph, its new nodes inspected before backward frees them and noted as its own."""
        known = len(self.walk.nodes)
        nodes = self.walk.add(record.graph_roots) if record.graph_roots else []
        record.new_nodes = self.walk.nodes[known:]
        self._inspect(nodes)
        return nodes

    def _value_read(self, leaf: torch.Tensor) -> torch.Tensor:
        """The leaf's value as the latest forward read it; a copy that later updates cannot change."""
        s = self.state
        known = s.leaves.get(id(leaf))
        if known is None:
            s.hold(leaf)
            known = s.leaves[id(leaf)] = (leaf._version, snapshot(leaf))
        if known[1].data_ptr() == leaf.data_ptr():
            known = s.leaves[id(leaf)] = (known[0], known[1].clone())
        return known[1]

    def _finish_pass(self, record: PassRecord) -> None:
        """The leaves it reached, its point on the loss plot, and its place in the pass log."""
        s = self.state
        for node, delivered in record.delivered.items():
            var = node.variable
            record.leaves.append(PassLeaf(var, self._value_read(var), delivered, record.leaf_grads.get(node)))
        if record.call == "backward":
            self._recorder.updates.grads_delivered([leaf.tensor for leaf in record.leaves])
        scalars = [
            leaf for leaf in record.leaves if leaf.value.numel() == 1 and leaf.value.is_floating_point()
        ]
        if len(scalars) > PLOTTED:  # a curve each is for a handful (w and b), not a sum of thousands
            scalars = []
        params = [(leaf.tensor, float(leaf.value.item())) for leaf in scalars]
        root = record.root
        loss = float(root.detach().item()) if root.numel() == 1 and root.is_floating_point() else None
        s.iterations.append(IterationRecord(s.passes.count, loss, params))
        s.passes.add(record)
        for dropped in s.passes.take_dropped():
            self._forget(dropped)

    def _forget(self, record: PassRecord) -> None:
        """A pass sampled out of a long loop: its updates, and what was kept of the nodes it
        was first to reach (forward values, saved tensors), go; memory stays bounded."""
        s = self.state
        # Updates are logged in time order, so by pass: this pass's are one run of the list.
        lo = bisect_left(s.updates, record.index, key=_update_pass)
        hi = bisect_right(s.updates, record.index, lo=lo, key=_update_pass)
        del s.updates[lo:hi]
        for node in record.new_nodes:
            s.saved.pop(node, None)
            s.locals.pop(node, None)
            s.ops.pop(node, None)
            for slot in range(_output_count(node)):
                s.values.pop((node, slot), None)
                s.versions.pop((node, slot), None)

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
        """Before backward frees them: saved tensors and local derivatives of the pass's new nodes.

        Judged per pass, so the last iteration of a long loop of small graphs keeps its
        detail; a sampled-out pass hands back what it read (``_forget``).
        """
        if len(nodes) > DETAIL_NODES:
            return
        s = self.state
        with torch.no_grad():
            for node in nodes:
                if node in self._inspected:
                    continue
                self._inspected.add(node)
                s.saved[node] = saved_raw(node)
                if len(s.locals) < CHAIN_NODES:
                    value = s.values.get((node, 0))
                    if value is not None and value.dim() != 0:
                        continue  # the forward saw it make more than a number: no local derivatives
                    if value is not None and self._no_single_number_input(node, value):
                        s.locals[node] = [None] * len(self.walk.children[node])  # what asking answers
                        continue
                    local = scalar_locals(node)
                    if local is not None:
                        s.locals[node] = local

    def _no_single_number_input(self, node: Node, value: torch.Tensor) -> bool:
        """A built-in node making one float number from inputs that are none of them single
        numbers (a loss, a sum): asked for its local derivatives it would answer no number
        (each input's gradient has that input's size), so it need not run its backward."""
        if type(node) is ACCUMULATE or type(node).__name__ == "BackwardCFunction":
            return False
        if not value.is_floating_point() or _output_count(node) != 1:
            return False
        values = self.state.values
        for child, slot in self.walk.children[node]:
            if child is None:
                continue  # an input without grad gets none
            if type(child) is ACCUMULATE:
                if child.variable.numel() == 1:
                    return False
                continue
            known = values.get((child, slot))
            if known is None or known.numel() == 1:
                return False
        return True

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
        if mode in (False, "none") or not isinstance(output, torch.Tensor) or not output.requires_grad:
            return
        if self.state.passes:
            self._output_backward(output, notes)
            return
        if output.numel() == 1:
            try:
                self.backward(output, automatic=True)
            except RuntimeError as exc:  # the user already ran backward and torch freed the graph
                if "second time" not in str(exc):
                    raise
                notes.append(note("graph_freed"))
        elif mode == "ones":
            self.backward(output, torch.ones_like(output), automatic=True)
            notes.append(note("ones_gradient"))
        else:
            notes.append(note("non_scalar_output"))

    def _output_backward(self, output: torch.Tensor, notes: list[Any]) -> None:
        """The program ran backward, but never through its output's graph (``final`` after a
        training loop): back-propagate the output too, after its own passes, and say so."""
        root = output.grad_fn
        if root is None or root in self.walk.children or output.numel() != 1:
            return  # a leaf, a graph some pass went through, or not a single number
        count = self.state.passes.count
        try:
            self.backward(output, automatic=True)
        except RuntimeError as exc:  # a pass freed part of this graph
            if "second time" not in str(exc):
                raise
            notes.append(note("graph_freed"))
            return
        name = self.state.names.get(tensor_key(output)) or "output"
        notes.append(note("output_backward", name=name, count=count))

    def _build(
        self, output: torch.Tensor | None, params: dict[int, str], notes: list[Any], device: str | None
    ) -> dict[str, Any]:
        output = output if isinstance(output, torch.Tensor) else None
        passes = self._shown_passes()
        nodes = self._shown_nodes(output, passes)
        count = self.state.passes.count
        if len(passes) < count:
            notes.append(note("passes_sampled", count=count, shown=len(passes)))
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
            pass_nodes=lambda p: self.walk.add(p.graph_roots) if p.graph_roots else [],
        )
        graph = builder.build()
        if not nodes:
            notes.insert(0, note("no_autograd_graph"))
        if output is not None and len(nodes) > DEEP_GRAPH:
            free_graph_with_tensor(output)
        out_id = builder.tensor_ids.get(tensor_key(output)) if output is not None else None
        device = device or (str(output.device) if output is not None else "cpu")
        head: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "device": device}
        if out_id is not None:
            head["output"] = out_id
        return {**head, **graph, "notes": notes}

    def _shown_passes(self) -> list[PassRecord]:
        """The passes kept in detail, as many as ``SHOWN_NODES`` of graph allow: the last one
        always, then the first, then the others from the latest back (a big model's loop
        must not ship ten copies of its graph)."""
        kept = self.state.passes.kept()
        if len(kept) <= 2:
            return kept
        seen: set[Node] = set()
        chosen: list[PassRecord] = []
        for p in [kept[-1], kept[0], *reversed(kept[1:-1])]:
            nodes = self.walk.add(p.graph_roots) if p.graph_roots else []
            new = [n for n in nodes if n not in seen]
            if chosen and len(seen) + len(new) > SHOWN_NODES:
                continue
            seen.update(new)
            chosen.append(p)
        return sorted(chosen, key=lambda p: p.index)

    def _shown_nodes(self, output: torch.Tensor | None, passes: list[PassRecord]) -> list[Node]:
        """The output's graph, the graphs of the user's variables and of the passes shown, and
        what was cut from them."""
        s = self.state
        tensors = [output, *s.variables.values()]
        roots: list[Node] = [t.grad_fn for t in tensors if t is not None and t.grad_fn is not None]
        for p in passes:  # every iteration shown in detail brings its own graph
            roots.extend(p.graph_roots)
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
