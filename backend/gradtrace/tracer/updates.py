"""Changes a program makes to its leaves between passes: optimizer steps, in-place writes, zeroing.

A training loop is forward, backward, update, again. The updates are not in the
autograd graph, so they are watched as they happen: ``optimizer.step()`` through
torch's global step hooks (the ops inside a step are one update, not many), and
the program's own writes through the forward mode, which sees ``w -= lr * w.grad``
(``sub_`` on the leaf), ``w.data -= ...`` (``sub_`` on a tensor sharing the leaf's
memory), ``w.grad.zero_()`` (on the leaf's ``.grad``) and ``w.grad = None`` (the
``grad`` setter, which ``opt.zero_grad()`` also uses). Learning-rate changes are
found at the next step, by comparing each parameter group's ``lr``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import torch
from torch.optim import optimizer as torch_optimizer
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

from gradtrace.core.errors import Span
from gradtrace.tracer.record import State, UpdateRecord
from gradtrace.tracer.summary import FULL, Summaries

_ZEROING = {"zero_"}
# p, its value before, its .grad, lr, its version before, whether plain SGD steps it
_Taken = tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, float | None, int, bool]


def _copy(t: torch.Tensor | None) -> torch.Tensor | None:
    return t.detach().clone() if t is not None else None


def _number(value: Any) -> float | None:
    if isinstance(value, torch.Tensor):
        return float(value.item()) if value.numel() == 1 else None
    return float(value) if isinstance(value, int | float) else None


class UpdateWatcher:
    """Turns optimizer steps and the program's writes to leaves into ``UpdateRecord``s."""

    def __init__(self, state: State, span_source: Callable[[], Span | None]) -> None:
        self.state = state
        self.span_source = span_source
        self.quiet = 0  # inside optimizer.step(): its own ops are not the program's writes
        self.by_ptr: dict[int, torch.Tensor] = {}  # data_ptr -> leaf, for w.data -= ...
        self.grad_ptr: dict[int, torch.Tensor] = {}  # data_ptr of a leaf's .grad -> the leaf
        self._steps: list[list[_Taken]] = []  # one list per step running (a closure may step again)
        self._stepped: dict[int, tuple[int, torch.Tensor]] = {}  # leaf id -> (version, value) after a step
        self._lrs: dict[int, list[float | None]] = {}  # optimizer id -> each group's lr at its last step
        self._handles: list[Any] = []
        self._thread = 0
        self.mode: Any = None  # weak ref to the forward mode, set aside in steps that run torch's code only
        self.set_aside: list[Any] = []  # per step running: the mode set aside, or None

    def install(self) -> None:
        """torch's step hooks are global: only steps on the capturing thread are ours."""
        self._thread = threading.get_ident()
        self._handles = [
            register_optimizer_step_pre_hook(self._before_step),
            register_optimizer_step_post_hook(self._after_step),
        ]

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self.quiet = 0
        self.set_aside = []  # put back by ``resume`` before the mode left the stack

    def resume(self) -> None:
        """A step that set the mode aside ended without its post-hook (it raised): put the
        mode back. Called wherever program code runs again (a module call, an assignment,
        a backward), which such a step never reaches while it runs."""
        while self.set_aside and self.set_aside[-1] is not None:
            torch._C._push_on_torch_function_stack(self.set_aside.pop())

    # -- what the passes tell us -----------------------------------------------------------
    def leaf_read(self, leaf: torch.Tensor) -> None:
        """A graph read ``leaf``: writes through memory it shares (``w.data``) now count."""
        self.by_ptr[leaf.data_ptr()] = leaf

    def grads_delivered(self, leaves: list[torch.Tensor]) -> None:
        for leaf in leaves:
            grad = leaf.grad
            if grad is not None:
                self.grad_ptr[grad.data_ptr()] = leaf

    def _after_pass(self) -> int | None:
        count = self.state.passes.count
        return count - 1 if count else None

    def _add(self, kind: str, leaf: torch.Tensor | None, before: Any, after: Any, **detail: Any) -> None:
        span = self.span_source()
        record = UpdateRecord(kind, leaf, before, after, self._after_pass(), span, detail)
        self.state.updates.append(_summarised_if_big(record))

    # -- the program's writes --------------------------------------------------------------
    def _owner(self, t: torch.Tensor) -> tuple[torch.Tensor, str] | None:
        """The leaf whose value (or ``.grad``) ``t`` is, if a pass or the forward has seen it."""
        if t.requires_grad:
            if t.grad_fn is None and id(t) in self.state.leaves:
                return t, "value"
            return None
        ptr = t.data_ptr()
        if not ptr:
            return None
        leaf = self.by_ptr.get(ptr)
        if leaf is not None and leaf.data_ptr() == ptr and leaf.shape == t.shape:
            return leaf, "value"
        leaf = self.grad_ptr.get(ptr)
        if leaf is not None and leaf.grad is not None and leaf.grad.data_ptr() == ptr:
            return leaf, "grad"
        return None

    def before_write(self, t: torch.Tensor, name: str) -> tuple[str, torch.Tensor, Any] | None:
        """An in-place op is about to write ``t``: if it is a leaf (or its .grad), keep the old value."""
        owner = self._owner(t)
        if owner is None:
            return None
        leaf, what = owner
        if what == "grad":
            if name not in _ZEROING:
                return None
            before = _copy(leaf.grad)
            self._unshare_step_grad(leaf.grad, before)
            return "zero_grad", leaf, before
        self.state.keep_leaf_value(leaf)
        return "inplace", leaf, _copy(leaf)

    def after_write(self, pending: tuple[str, torch.Tensor, Any]) -> None:
        kind, leaf, before = pending
        after = _copy(leaf.grad) if kind == "zero_grad" else _copy(leaf)
        self._add(kind, leaf, before, after)

    def rebound(self, old: torch.Tensor, new: torch.Tensor, span: Span | None) -> None:
        """``w = w - lr * w.grad`` under ``no_grad``: the name now holds a new tensor made from
        the leaf it held. To the loop that is the leaf's update (recorded on the old leaf)."""
        if old.grad_fn is not None or not old.requires_grad or new.grad_fn is not None:
            return
        mark = self.state.marks.get(id(new))
        if mark is None or mark.cut_from != id(old) or id(old) not in self.state.leaves:
            return
        before = old.detach()
        if before.shape == mark.value.shape and torch.equal(before, mark.value):
            return  # x = x.detach(): the same numbers, no step taken
        record = UpdateRecord("inplace", old, before.clone(), mark.value, self._after_pass(), span)
        self.state.updates.append(_summarised_if_big(record))

    def grad_set(self, t: Any, value: Any) -> None:
        """``w.grad = None`` (what ``zero_grad()`` does by default) or ``w.grad = zeros``."""
        if not isinstance(t, torch.Tensor) or t.grad is None or id(t) not in self.state.leaves:
            return
        if value is None:  # the old .grad is let go, unchanged: no copy needed
            self._add("zero_grad", t, t.grad.detach(), None)
        elif isinstance(value, torch.Tensor) and not bool(value.any()):
            self._add("zero_grad", t, _copy(t.grad), _copy(value))

    # -- optimizer.step() ------------------------------------------------------------------
    def _before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if threading.get_ident() != self._thread:
            return
        with torch._C.DisableTorchFunction():
            self._lr_changes(optimizer)
            taken: list[_Taken] = []
            for group in optimizer.param_groups:
                lr = _number(group.get("lr"))
                plain = _plain_sgd(optimizer, group)
                for p in group["params"]:
                    if p.requires_grad:  # its .grad may come from a closure the step calls (LBFGS)
                        self.state.keep_leaf_value(p)
                        # .grad itself: a step does not write it; zeroing it in place later
                        # swaps in a copy (``_unshare_step_grad``)
                        grad = p.grad.detach() if p.grad is not None else None
                        taken.append((p, self._current(p), grad, lr, p._version, plain))
            self._steps.append(taken)
        self.quiet += 1
        self.set_aside.append(self._set_mode_aside(optimizer, args, kwargs))

    def _set_mode_aside(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> Any:
        """A stock optimizer's step without closure or hooks of its own runs torch's code only,
        under no_grad, where the mode passes every call straight through (thousands of
        attribute reads a loop): the step runs without it. Returns the mode set aside."""
        mode = self.mode() if self.mode is not None else None
        if mode is None or not _runs_torch_code_only(optimizer, args, kwargs):
            return None
        depth = torch._C._len_torch_function_stack()
        if depth == 0 or torch._C._get_function_stack_at(depth - 1) is not mode:
            return None
        return torch._C._pop_torch_function_stack()

    def _after_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if threading.get_ident() != self._thread:
            return
        if self.set_aside:
            mode = self.set_aside.pop()
            if mode is not None:
                torch._C._push_on_torch_function_stack(mode)
        self.quiet = max(self.quiet - 1, 0)
        if not self._steps:
            return
        taken = self._steps.pop()
        with torch._C.DisableTorchFunction():
            name = type(optimizer).__name__
            for p, before, grad, lr, version, plain in taken:
                if p._version == version:
                    continue  # no gradient (a frozen or unused parameter): not written
                if grad is None and p.grad is not None:
                    grad = p.grad.detach().clone()
                detail: dict[str, Any] = {"optimizer": name, "grad": grad}
                if lr is not None:
                    detail["lr"] = lr
                detail.update(_moments(optimizer.state.get(p, {})))
                if plain:
                    detail["plain_sgd"] = True
                after = p.detach().clone()
                if after.numel() <= BIG:
                    self._stepped[id(p)] = (p._version, after)  # the next step's "before", if unchanged
                self._add("optimizer_step", p, before, after, **detail)

    def _current(self, p: torch.Tensor) -> torch.Tensor:
        """``p``'s value now: the copy already kept of it when it has not changed since, else a new one."""
        for known in (self._stepped.get(id(p)), self.state.leaves.get(id(p))):
            if known is not None and known[0] == p._version and known[1].data_ptr() != p.data_ptr():
                return known[1]
        return p.detach().clone()

    def before_pass(self) -> None:
        """A backward is about to add into ``.grad`` in place: steps since the last pass that
        kept a ``.grad`` still in use keep a copy instead."""
        last = self._after_pass()
        for update in reversed(self.state.updates):
            if update.after_pass != last:
                break
            kept = update.detail.get("grad")
            grad = update.leaf.grad if update.leaf is not None else None
            if isinstance(kept, torch.Tensor) and grad is not None and kept.data_ptr() == grad.data_ptr():
                update.detail["grad"] = kept.clone()

    def _unshare_step_grad(self, grad: torch.Tensor | None, copy: torch.Tensor | None) -> None:
        """``.grad`` is about to be zeroed in place: a step that kept it keeps ``copy`` instead."""
        if grad is None or copy is None:
            return
        for update in reversed(self.state.updates[-64:]):
            kept = update.detail.get("grad")
            if isinstance(kept, torch.Tensor) and kept.data_ptr() == grad.data_ptr():
                update.detail["grad"] = copy

    def _lr_changes(self, optimizer: torch.optim.Optimizer) -> None:
        """A scheduler changed a group's lr since this optimizer's last step: one update each."""
        now = [_number(group.get("lr")) for group in optimizer.param_groups]
        before = self._lrs.get(id(optimizer))
        self._lrs[id(optimizer)] = now
        if before is None or len(before) != len(now):
            return
        for old, new in zip(before, now, strict=True):
            if old != new:
                record = UpdateRecord("scheduler_step", None, None, None, self._after_pass(), None)
                record.detail = {"lr_before": old, "lr_after": new}
                self.state.updates.append(record)


BIG = 4_096  # elements: an update of a larger tensor keeps its summary, made at once, not copies


def _summarised_if_big(record: UpdateRecord) -> UpdateRecord:
    """A big model's loop must not hold two copies of every parameter per step shown: past
    ``BIG`` elements, the update's tensors become their summaries right away."""
    if isinstance(record.before, torch.Tensor) and record.before.numel() > BIG:
        record.before = _summary_now(record.before)
    if isinstance(record.after, torch.Tensor) and record.after.numel() > BIG:
        record.after = _summary_now(record.after)
    for key, value in record.detail.items():
        if isinstance(value, torch.Tensor) and value.numel() > BIG:
            record.detail[key] = _summary_now(value)
    return record


def _summary_now(t: torch.Tensor) -> dict[str, Any]:
    summaries = Summaries()
    summary = summaries.add(t)
    summaries.flush(FULL)
    return summary


def _moments(state: dict[str, Any]) -> dict[str, Any]:
    """Adam's running averages and step count, as the step left them."""
    out: dict[str, Any] = {}
    for key in ("exp_avg", "exp_avg_sq"):
        value = state.get(key)
        if isinstance(value, torch.Tensor):
            out[key] = value.detach().clone()
    step = _number(state.get("step"))
    if step is not None and "exp_avg" in out:
        out["step"] = int(step)
    return out


def _runs_torch_code_only(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> bool:
    """No closure, a class of torch's own, not differentiable, no step hooks but the tracer's."""
    closure = args[1] if len(args) > 1 else kwargs.get("closure")  # args[0] is the optimizer
    if closure is not None or not type(optimizer).__module__.startswith("torch.optim."):
        return False
    if optimizer.defaults.get("differentiable") or optimizer._optimizer_step_pre_hooks:
        return False
    if optimizer._optimizer_step_post_hooks:
        return False
    hooks = (
        *getattr(torch_optimizer, "_global_optimizer_pre_hooks", {None: None}).values(),
        *getattr(torch_optimizer, "_global_optimizer_post_hooks", {None: None}).values(),
    )
    return all(isinstance(getattr(hook, "__self__", None), UpdateWatcher) for hook in hooks)


def _plain_sgd(optimizer: torch.optim.Optimizer, group: dict[str, Any]) -> bool:
    """SGD without momentum or weight decay: after = before − lr × grad, worth writing out."""
    if type(optimizer) is not torch.optim.SGD:
        return False
    return not (group.get("momentum") or group.get("weight_decay") or group.get("maximize"))
