"""Recording the forward: every torch call (TorchFunctionMode) and every module call.

The mode sees each op as it runs, so it can keep the value of every result
(including ones a later in-place op overwrites), the source span and module
that made it, and the constant tensors it was given, which the autograd graph
does not remember. A program's own ``t.backward()`` also passes through the
mode, and is routed to the capture so its hooks see it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from gradtrace.core.errors import Span
from gradtrace.tracer.record import OpRecord, State, TensorMark, snapshot, tensor_key
from gradtrace.tracer.updates import UpdateWatcher

_AUTOGRAD_GRAD = torch.autograd.grad
_IN_PLACE_DUNDER = {
    "__setitem__",
    "__iadd__",
    "__isub__",
    "__imul__",
    "__itruediv__",
    "__ifloordiv__",
    "__imod__",
    "__ipow__",
    "__iand__",
    "__ior__",
    "__ixor__",
    "__ilshift__",
    "__irshift__",
    "__imatmul__",
}


_IN_PLACE: dict[str, bool] = {}


def _in_place(name: str) -> bool:
    """``add_``, ``x += 1``, ``x[0] = 1``: the op writes into its first argument (asked once a name)."""
    known = _IN_PLACE.get(name)
    if known is None:
        known = _IN_PLACE[name] = name in _IN_PLACE_DUNDER or (name.endswith("_") and not name.endswith("__"))
    return known


def _sets_grad(func: Any) -> bool:
    """``t.grad = value``: torch hands the mode the ``grad`` descriptor's ``__set__``."""
    return getattr(getattr(func, "__self__", None), "__name__", "") == "grad"


# What the mode does with a call, decided once per function (a getter's ``__get__`` is a new
# method-wrapper object each time, but equal and of equal hash for one attribute).
_OTHER, _GETTER, _IN_PLACE_OP, _GRAD_SETTER, _BACKWARD, _GRAD = range(6)
_KINDS: dict[Any, int] = {}
_KINDS_KEPT = 4096  # distinct functions remembered; past this, each is classified anew


def _classify(func: Any) -> int:
    if func is torch.Tensor.backward:
        return _BACKWARD
    if func is _AUTOGRAD_GRAD:
        return _GRAD
    name = getattr(func, "__name__", "")
    if name == "__get__":
        return _GETTER
    if name == "__set__" and _sets_grad(func):
        return _GRAD_SETTER
    return _IN_PLACE_OP if _in_place(name) else _OTHER


def _remember(func: Any) -> int:
    kind = _classify(func)
    if len(_KINDS) < _KINDS_KEPT:
        _KINDS[func] = kind
    return kind


def _tensors(args: Any, kwargs: dict[str, Any]) -> list[torch.Tensor]:
    """Tensor arguments in order, looking one level into lists (cat, stack)."""
    out: list[torch.Tensor] = []
    for a in (*args, *kwargs.values()):
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, list | tuple):
            out.extend(x for x in a if isinstance(x, torch.Tensor))
    return out


class ForwardRecorder(TorchFunctionMode):
    """The mode: runs each call, then notes what it made."""

    def __init__(
        self, state: State, span_source: Callable[[], Span | None], on_backward: Any, on_grad: Any = None
    ) -> None:
        super().__init__()
        self.state = state
        self.span_source = span_source
        self.on_backward = on_backward
        self.on_grad = on_grad
        self.updates = UpdateWatcher(state, span_source)
        self.updates.mode = weakref.ref(self)  # no cycle: the capture is freed by refcount
        self.modules: list[str] = []
        self.last: torch.Tensor | None = None  # the latest graph tensor made: usually the loss

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        try:
            kind = _KINDS[func]
        except KeyError:
            kind = _remember(func)
        except TypeError:  # an unhashable callable
            kind = _classify(func)
        if kind == _GETTER:  # most calls: t.shape, p.grad, t.grad_fn as the program reads them
            out = func(*args, **kwargs) if kwargs else func(*args)
            # x.T; w.data under no_grad (not inside a step: that is one update); p.grad alone: nothing
            if isinstance(out, torch.Tensor) and (
                out.grad_fn is not None if torch.is_grad_enabled() else not self.updates.quiet
            ):
                self._after(args, kwargs or {}, out)
            return out
        kwargs = kwargs or {}
        if kind == _BACKWARD:
            return self.on_backward(*args, **kwargs)
        if kind == _GRAD and self.on_grad is not None:
            return self.on_grad(*args, **kwargs)
        if self.updates.quiet and not torch.is_grad_enabled():
            # inside optimizer.step(): the step is one update, not its ops (a closure's
            # forward, LBFGS's, runs with grad enabled and is recorded)
            return func(*args, **kwargs)
        write = None
        if kind == _IN_PLACE_OP and args and isinstance(args[0], torch.Tensor):
            self._before_inplace(args[0])
            write = self.updates.before_write(args[0], getattr(func, "__name__", ""))
        elif kind == _GRAD_SETTER and len(args) == 2:
            self.updates.grad_set(args[0], args[1])
        out = func(*args, **kwargs)
        if write is not None:
            self.updates.after_write(write)
        self._after(args, kwargs, out)
        return out

    def _before_inplace(self, t: torch.Tensor) -> None:
        """An in-place op is about to overwrite ``t``: keep its old value as a copy."""
        s = self.state
        key = tensor_key(t)
        old = s.values.get(key)
        if old is not None and old.data_ptr() == t.data_ptr():
            s.values[key] = old.clone()
            s.versions[key] = s.values[key]._version
        leaf = s.leaves.get(id(t))
        if leaf is not None and leaf[1].data_ptr() == t.data_ptr():
            s.leaves[id(t)] = (leaf[0], leaf[1].clone())

    def _after(self, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        outs = out if isinstance(out, tuple | list) else (out,)
        inputs: list[torch.Tensor] | None = None
        for t in outs:
            if not isinstance(t, torch.Tensor):
                continue
            gf = t.grad_fn
            if gf is not None:
                inputs = inputs if inputs is not None else _tensors(args, kwargs)
                self._graph_output(gf, t, inputs)
            else:  # detach, no_grad, a non-differentiable op, or an op on such a result
                inputs = inputs if inputs is not None else _tensors(args, kwargs)
                self._maybe_cut(t, inputs)

    def _graph_output(self, gf: Any, t: torch.Tensor, inputs: list[torch.Tensor]) -> None:
        s = self.state
        self.last = t
        key = (gf, t.output_nr)
        s.values[key] = t.detach()  # shares storage: an in-place op clones it first (above)
        s.kept_elements += t.numel()
        s.versions[key] = t._version
        if gf in s.ops:
            return
        s.ops_seen += 1
        record = OpRecord(s.ops_seen, self.span_source(), self.modules[-1] or None if self.modules else None)
        for slot, a in enumerate(inputs):
            if not a.requires_grad:
                record.constants.append((slot, a))
                self._mark(a, s.cut_source(a) if s.cuts else None)
            elif a.grad_fn is None:
                self._leaf(a)
        s.ops[gf] = record

    def _leaf(self, a: torch.Tensor) -> None:
        """Keep a leaf's value as the op saw it (an optimizer may change it later)."""
        known = self.state.leaves.get(id(a))
        version = a._version
        if known is None or known[0] != version:
            self.state.hold(a)
            self.state.leaves[id(a)] = (version, snapshot(a))
            self.updates.leaf_read(a)

    def _mark(self, t: torch.Tensor, cut_from: Any) -> TensorMark:
        s = self.state
        mark = s.marks.get(id(t))
        if mark is None:
            s.hold(t)
            span, module = self.span_source(), self.modules[-1] or None if self.modules else None
            mark = s.marks[id(t)] = TensorMark(t, snapshot(t), span, module, cut_from)
        return mark

    def _maybe_cut(self, t: torch.Tensor, inputs: list[torch.Tensor]) -> None:
        """detach() or an op under no_grad turned a graph tensor into a constant; an op on
        such a result carries the cut on (an island of any length stays one cut edge)."""
        s = self.state
        for a in inputs:
            if a is t:
                continue
            if a.requires_grad:
                self._mark(t, tensor_key(a))
                s.cuts += 1
                if a.grad_fn is None:
                    s.hold(a)
                return
            source = s.cut_source(a) if s.cuts else None
            if source is not None:
                s.derived[id(t)] = (weakref.ref(t, _forget(s.derived, id(t))), source)
                return


def _forget(derived: dict[int, Any], key: int) -> Callable[[Any], None]:
    """A weak reference's callback: the entry goes with its tensor (a long no_grad loop
    leaves no trail)."""

    def drop(ref: Any) -> None:
        entry = derived.get(key)
        if entry is not None and entry[0] is ref:
            del derived[key]

    return drop


class ModulePaths:
    """Global module hooks that keep the path of the module running (``layer1.0.linear``)."""

    def __init__(self, recorder: ForwardRecorder, state: State) -> None:
        self.recorder = recorder
        self.state = state
        self.paths: dict[int, dict[int, str]] = {}
        self.roots: list[int] = []
        self.root_depths: list[int] = []  # the stack's length under each root module
        self.handles: list[Any] = []

    def install(self) -> None:
        from torch.nn.modules import module as m

        self.handles = [
            m.register_module_forward_pre_hook(self._enter),
            m.register_module_forward_hook(self._exit, always_call=True),
        ]

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

    def _enter(self, module: torch.nn.Module, args: Any) -> None:
        if self.recorder.updates.set_aside:
            self.recorder.updates.resume()
        stack = self.recorder.modules
        if not self.roots:
            # Paths as named_modules() gives them, under the user's variable name if any:
            # ``model.0.linear``; ops of an unnamed root module itself get no module
            # (inside a program function ``f``, they get ``f.Linear``).
            root = self.state.module_names.get(id(module), "")
            if not root and stack and stack[-1]:
                root = f"{stack[-1]}.{type(module).__name__}"
            table = self.paths.get(id(module))
            if table is None:
                prefix = f"{root}." if root else ""
                table = self.paths[id(module)] = {id(m): prefix + p for p, m in module.named_modules() if p}
            self.roots.append(id(module))
            self.root_depths.append(len(stack))
            stack.append(root)
            return
        table = self.paths.get(self.roots[-1], {})
        stack.append(table.get(id(module)) or f"{stack[-1]}.{type(module).__name__}")

    def _exit(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        stack = self.recorder.modules
        if stack:
            stack.pop()
        if self.roots and len(stack) == self.root_depths[-1]:
            self.roots.pop()
            self.root_depths.pop()
