"""``torch.nn`` layers by class: built on the meta device first, run on their meta twin first.

Constructing a layer allocates its parameters, so each constructor runs first under
``torch.device("meta")``: the parameters it would make are counted against the budget
before any memory is taken. The meta copy is kept as the layer's twin; before a call
of the real layer, the twin runs on meta copies of the inputs (under a FLOP counter),
so its outputs and work are known before the real forward. Results are cached per
layer and input signature: a training loop pays once per call site.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget
from gradtrace.run.shapes import ELEMENT_COST, size_of

_TWINS: weakref.WeakKeyDictionary[nn.Module, nn.Module] = weakref.WeakKeyDictionary()
_CALLS: dict[tuple[Any, ...], tuple[tuple[int, ...], int]] = {}
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.ParameterList, nn.ParameterDict)


def _meta_value(value: Any) -> Any:
    """Constructor arguments for the twin: modules become their twins, tensors meta tensors."""
    if isinstance(value, nn.Module):
        twin = _TWINS.get(value)
        if twin is None:
            raise LookupError
        return twin
    if isinstance(value, torch.Tensor):
        return torch.empty_like(value, device="meta")
    if isinstance(value, list | tuple):
        converted = [_meta_value(v) for v in value]
        return converted if isinstance(value, list) else tuple(converted)
    return value


def _build_twin(cls: type[nn.Module], args: Any, kwargs: dict[str, Any]) -> nn.Module:
    """Layers with parameters take ``device=``: theirs are made on meta, drawing no random numbers."""
    with torch._C.DisableTorchFunction():  # the tracer's mode never sees the twin
        try:
            return cls(*args, **{**kwargs, "device": "meta"})
        except TypeError:
            twin = cls(*args, **kwargs)  # no factory arguments: a layer without parameters
    if any(p.device.type != "meta" for p in twin.parameters()):
        raise LookupError  # it made real parameters after all: count the real ones instead
    return twin


def construct(cls: type[nn.Module], args: tuple[Any, ...], kwargs: dict[str, Any]) -> nn.Module:
    """Count the layer's parameters on meta, then build it for real and keep its twin."""
    twin = None
    try:
        meta_args, meta_kwargs = _meta_value(args), _meta_value(kwargs)
        twin = _build_twin(cls, meta_args, meta_kwargs)
    except LookupError:
        twin = None  # built from a module without a twin: its parts were counted when they were made
    if twin is not None:
        sizes = [size_of(p) for p in twin.parameters()] + [size_of(b) for b in twin.buffers()]
        run = budget.budget()
        for size in sizes:
            run.tensor(size)
        if run.elements + sum(sizes) > run.limits.total_elements:
            params = {"size": run.elements + sum(sizes), "limit": run.limits.total_elements}
            raise GradtraceError("limit", "memory_budget", params)
    module = cls(*args, **kwargs)
    if twin is not None:
        _TWINS[module] = twin
    return module


def preflight_call(module: nn.Module, args: tuple[Any, ...]) -> None:
    """Run the layer's twin on meta inputs; refuse the real call if its outputs or work would not fit."""
    twin = _TWINS.get(module)
    if twin is None or not args:
        return
    try:
        with torch._C.DisableTorchFunction():  # the run's own reads, not the program's ops
            key = (id(module), id(twin), twin.training, *(_signature(a) for a in args))
    except TypeError:
        return
    measured = _CALLS.get(key)
    if measured is None:
        measured = _measure(twin, module, args)
        if len(_CALLS) > 4096:
            _CALLS.clear()
        _CALLS[key] = measured
    sizes, work = measured
    run = budget.budget()
    for size in sizes:
        run.tensor(size)
    if run.flops + work > run.limits.flops:
        raise GradtraceError("limit", "too_much_work", {"size": run.flops + work, "limit": run.limits.flops})


def _signature(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return (tuple(value.shape), value.dtype)
    if isinstance(value, bool | int | float | type(None)):
        return value
    raise TypeError


def _measure(twin: nn.Module, module: nn.Module, args: tuple[Any, ...]) -> tuple[tuple[int, ...], int]:
    twin.train(module.training)
    meta_args = tuple(_meta_value(a) if isinstance(a, torch.Tensor) else a for a in args)
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), torch._C.DisableTorchFunction(), counter:
            out = twin(*meta_args)
    except (NotImplementedError, RuntimeError, TypeError, ValueError):
        return (), 0  # the real call raises its own error, or has no meta kernel: charged after
    outputs = _tensors(out)
    sizes = tuple(size_of(t) for t in outputs)
    touched = sum(size_of(a) for a in args if isinstance(a, torch.Tensor)) + sum(sizes)
    return sizes, int(counter.get_total_flops()) // 2 + ELEMENT_COST * touched


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [t for item in value[:1024] for t in _tensors(item)]
    return []


def layer_classes() -> dict[str, type[nn.Module]]:
    """Every public layer, loss, activation and container class of ``torch.nn``."""
    found: dict[str, type[nn.Module]] = {}
    for name in dir(nn):
        value = getattr(nn, name)
        if name.startswith("_") or not isinstance(value, type) or not issubclass(value, nn.Module):
            continue
        if value is nn.Module or name.startswith(("Lazy", "Uninitialized")) or "Parallel" in name:
            continue  # the base; parameters sized later; other devices and processes
        found[name] = value
    return found


_ = _CONTAINERS
