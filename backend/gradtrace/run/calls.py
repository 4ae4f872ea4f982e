"""Calling something: the capability check, by identity, at the moment of the call.

Aliases (``f = torch.exp``), containers (``[torch.exp][0]``) and attribute
chains all end here, so a name check elsewhere can never be bypassed: the
object being called must be a registered ``Func``, a ``Method`` the policy
made, or an instance of an allowed ``nn`` module class.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget
from gradtrace.run.backward import mark
from gradtrace.run.classes import HostInit, class_info, dunder, info_of, instantiate
from gradtrace.run.devices import check_device
from gradtrace.run.facades import MODULE_TYPES, NUMPY_DTYPES
from gradtrace.run.functions import PROGRAM_CALLABLES
from gradtrace.run.guards import check_conv
from gradtrace.run.methods import CALLBACK_METHODS, METHODS, OPEN_KEYWORDS
from gradtrace.run.modules import preflight_call
from gradtrace.run.namedtuples import TupleMethod, is_namedtuple_class
from gradtrace.run.objects import FunctionApply, HostClassInit
from gradtrace.run.shapes import charge, check_shape, numel, size_of
from gradtrace.run.values import AnyKeywords, Facade, Func, Method, is_registered, words
from gradtrace.sandbox import check_int_bits

SHARED_KWARGS: frozenset[str] = words(
    "dtype device requires_grad dim keepdim p alpha min max size low high steps start end step "
    "unbiased correction retain_graph gradient input other exponent lr momentum weight_decay betas "
    "eps dampening nesterov amsgrad maximize in_features out_features bias in_channels out_channels "
    "kernel_size stride padding reduction data descending sorted k largest beta threshold inplace "
    "negative_slope mask value fill_value weight target dim0 dim1 start_dim end_dim num_classes "
    "label_smoothing decimals ord axis shape sizes approximate training ignore_index pos_weight atol "
    "rtol equal_nan set_to_none key reverse default sep maxsplit keepends out"
)


def call(callee: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    before = budget.budget().flops
    result = _dispatch(callee, args, kwargs)
    if isinstance(result, int) and not isinstance(result, bool):
        check_int_bits(result.bit_length(), budget.budget().limits)  # math.floor(1e308)
    target = (callee.target,) if isinstance(callee, Method) else ()
    with torch._C.DisableTorchFunction():  # our bookkeeping reads shapes: not the program's ops
        charge(result, (*target, *args))
        mark(result, budget.budget().flops - before)
    return result


_OPEN = AnyKeywords()
_PROGRAM_OWNED = (*PROGRAM_CALLABLES, HostInit, HostClassInit, FunctionApply, TupleMethod)


def _dispatch(callee: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    kind = type(callee)
    if kind is Method:
        assert isinstance(callee, Method)
        return _call_method(callee, args, kwargs)
    if is_registered(callee):
        assert isinstance(callee, Func)
        return _call_func(callee, args, kwargs)
    if kind in _PROGRAM_OWNED:
        return callee(*args, **kwargs)  # type: ignore[operator]  # re-enters the interpreter
    if isinstance(callee, nn.Module) and kind in MODULE_TYPES:
        return call_module(callee, args, kwargs)
    if is_namedtuple_class(callee):
        assert isinstance(callee, type)
        return callee(*args, **kwargs)  # a tuple of the program's values, nothing runs
    return _call_program_object(callee, args, kwargs)


def _call_program_object(callee: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A program class (``Net()``), a program module (``model(x)``), an object with ``__call__``."""
    if class_info(callee) is not None:
        assert isinstance(callee, type)
        return instantiate(callee, args, kwargs)
    if info_of(callee) is not None:
        if isinstance(callee, nn.Module):
            check_values(type(callee).__name__, args, kwargs, modules=False)
            charge_module_call(callee)
            return callee(*args, **kwargs)
        method = dunder(callee, "__call__")
        if method is not None:
            return method(*args, **kwargs)
    raise GradtraceError("not_allowed", "call_not_allowed", {"what": _describe(callee)})


def _describe(value: object) -> str:
    if isinstance(value, Facade):
        return f"the module `{value.name}`"
    return f"a value of type `{type(value).__name__}`"


def _call_func(func: Func, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    allowed = SHARED_KWARGS if func.kwargs is None else func.kwargs
    kwargs = check_kwargs(func.name, kwargs, allowed)
    if func.accepts != "any":
        check_values(func.name, args, kwargs, modules=func.accepts == "modules")
    if func.guard is not None:
        func.guard(args, kwargs)
    result = func.impl(*args, **kwargs)
    if isinstance(result, nn.Module):
        _count_parameters(result)
    return result


def _call_method(method: Method, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    handler = METHODS[method.owner].get(method.name)
    if handler is None:  # cannot happen: the policy made this Method from the same table
        raise GradtraceError("not_allowed", "call_not_allowed", {"what": method.name})
    allowed = _OPEN if method.owner == "tensor" and method.name in OPEN_KEYWORDS else SHARED_KWARGS
    kwargs = check_kwargs(method.name, kwargs, allowed)
    if method.name not in CALLBACK_METHODS:  # a hook's handler checks it is the program's own function
        check_values(method.name, args, kwargs, modules=False)
    if method.owner == "module" and method.name == "forward" and isinstance(method.target, nn.Module):
        return call_module(method.target, args, kwargs)
    return handler(method.target, args, kwargs)


def check_kwargs(func: str, kwargs: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    for name in kwargs:
        if name not in allowed:
            raise GradtraceError("not_allowed", "kwarg_not_allowed", {"name": name, "func": func})
    if "device" in kwargs and kwargs["device"] is not None:
        kwargs = {**kwargs, "device": check_device(kwargs["device"])}
    dtype = kwargs.get("dtype")
    if dtype is not None and not isinstance(dtype, torch.dtype) and dtype not in NUMPY_DTYPES:
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": "dtype must be a torch dtype"}
        )
    if "requires_grad" in kwargs and not isinstance(kwargs["requires_grad"], bool):
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": "requires_grad must be True or False"}
        )
    return kwargs


_CALLABLES = (Func, Method, Facade, *_PROGRAM_OWNED)


def check_values(func: str, args: tuple[Any, ...], kwargs: dict[str, Any], *, modules: bool) -> None:
    """No callables (or facades) into torch: a callback is code torch would run for the user."""
    for value in (*args, *kwargs.values()):
        items = value if isinstance(value, list | tuple) and len(value) <= 10_000 else (value,)
        for item in (value, *items) if items is not value else items:
            if isinstance(item, _CALLABLES) or (isinstance(item, nn.Module) and not modules):
                raise GradtraceError(
                    "not_allowed", "value_not_allowed", {"what": repr(item)[:60], "func": func}
                )


def _count_parameters(module: nn.Module) -> None:
    for parameter in module.parameters():
        budget.budget().created(size_of(parameter))


MODULE_STEPS = 40  # a module call costs about as much CPU as forty interpreter steps


def charge_module_call(module: nn.Module) -> None:
    """Each module a call runs (children of a Sequential too) is charged as steps before it runs:
    ``while True: x = fc(x)`` reaches the step limit long before the loop limit's wall time."""
    budget.budget().step(MODULE_STEPS * module_calls(module))


def module_calls(module: nn.Module) -> int:
    """Module calls one call makes, a child repeated in a Sequential counted each time it runs."""
    counts: dict[int, int] = {}
    order: list[nn.Module] = []
    stack = [module]
    while stack:  # children before parents, each distinct module once
        current = stack.pop()
        if id(current) in counts:
            continue
        counts[id(current)] = 0
        order.append(current)
        stack.extend(vars(current)["_modules"].values())
    for current in reversed(order):
        children = [c for c in vars(current)["_modules"].values() if c is not None]
        counts[id(current)] = 1 + sum(counts.get(id(c), 1) for c in children)
    return counts[id(module)]


def call_module(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if kwargs:
        raise GradtraceError(
            "not_allowed", "kwarg_not_allowed", {"name": next(iter(kwargs)), "func": "a module call"}
        )
    check_values(type(module).__name__, args, {}, modules=False)
    charge_module_call(module)
    if args and isinstance(args[0], torch.Tensor):
        simulate(module, tuple(args[0].shape))
    if type(module) in MODULE_TYPES:
        preflight_call(module, args)  # the layer's meta twin runs first
    return module(*args)


def simulate(module: nn.Module, shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """Follow the input's shape through the layers, charging each one before it runs."""
    if shape is None:
        return None
    if isinstance(module, nn.Sequential):
        for child in module:
            shape = simulate(child, shape)
        return shape
    if isinstance(module, nn.Linear):
        if not shape or shape[-1] != module.in_features:
            return None  # torch raises its own (explained) shape error
        out = (*shape[:-1], module.out_features)
        check_shape(out)
        budget.budget().work(numel(out) * module.in_features)  # multiply-adds
        return out
    if isinstance(module, nn.Conv2d):
        check_conv(shape, tuple(module.weight.shape), module.stride, module.padding)
        return None
    if isinstance(module, nn.Flatten | nn.MaxPool2d) or type(module) not in MODULE_TYPES:
        return None  # the program's own modules charge their ops as they run
    return shape
