"""Methods a program may call, by policy table, each with its pre-allocation guard.

A handler gets ``(target, args, kwargs)``. Most just check sizes and call the
real method, so torch builds its real autograd graph; a few are special:
``backward`` goes to the observer, ``parameters()`` returns a list (never a
live generator), ``to``/``cuda`` check the device first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget, dispatch
from gradtrace.run.backward import charge_backward, charge_step
from gradtrace.run.containers import CTX_METHODS, DICT_METHODS, LIST_METHODS, SET_METHODS
from gradtrace.run.devices import check_device
from gradtrace.run.preflight import preflight
from gradtrace.run.shapes import (
    check_broadcast,
    check_matmul,
    check_outer,
    check_shape,
    numel,
    size_args,
    size_of,
)
from gradtrace.run.spans import current_span
from gradtrace.run.strings import STR_METHODS, format_method
from gradtrace.run.surface import ZEROED, tensor_methods
from gradtrace.run.values import words
from gradtrace.sandbox import check_sequence

Handler = Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]


def plain(target: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return getattr(target, name)(*args, **kwargs)


def _plain(name: str) -> Handler:
    return lambda target, args, kwargs: plain(target, name, args, kwargs)


def _guarded(name: str, guard: Callable[[Any, tuple[Any, ...], dict[str, Any]], None]) -> Handler:
    def handler(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        guard(target, args, kwargs)
        return plain(target, name, args, kwargs)

    return handler


def _broadcast(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    check_broadcast(target, *args[:2], *kwargs.values())


def _matmul(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if args:
        check_matmul(target, args[0])


def _outer(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if args:
        check_outer(target, args[0])


def _new_sized(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    check_shape(size_args(args, kwargs))


def _repeat(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    sizes = size_args(args, kwargs, key="sizes")
    check_shape((numel(sizes), size_of(target)))


def _expand(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    sizes = size_args(args, kwargs)
    check_shape(size if size >= 0 else 1 for size in sizes)


def _tolist(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    count = size_of(target) if isinstance(target, torch.Tensor) else int(target.size)
    check_sequence(count, budget.budget().limits)
    return target.tolist()


def _to(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``x.to(device)``, ``x.to(torch.float64)``, ``x.to(other)``, ``model.to(device)``."""
    checked = []
    for arg in args:
        if isinstance(arg, str | torch.device):
            arg = check_device(arg)
        checked.append(arg)
    if "device" in kwargs:
        kwargs = {**kwargs, "device": check_device(kwargs["device"])}
    return target.to(*checked, **kwargs)


def _cuda(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    device = check_device(args[0] if args else kwargs.get("device", "cuda"))
    return target.to(device)


def _backward(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """``t.backward(gradient=None, retain_graph=None)``: through the observer when there is one."""
    names = ("gradient", "retain_graph", "create_graph")
    params = dict(zip(names, args, strict=False)) | kwargs
    if params.get("create_graph"):
        raise GradtraceError("not_allowed", "kwarg_not_allowed", {"name": "create_graph", "func": "backward"})
    gradient, retain_graph = params.get("gradient"), params.get("retain_graph")
    run = budget.state()
    run.backward_calls += 1
    charge_backward(target)
    if run.observer is not None:
        run.observer.backward(target, gradient, retain_graph, current_span.get())
    else:
        target.backward(gradient=gradient, retain_graph=retain_graph)


def _parameters(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return list(target.parameters())


def _named_parameters(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return list(target.named_parameters())


def _children(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return list(target.children())


def _step(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``optimizer.step()``, or ``step(closure)`` when the closure is the program's own function
    (LBFGS): torch calling it re-enters the interpreter with the run's budget."""
    from gradtrace.run.functions import PROGRAM_CALLABLES

    closure = args[0] if args else kwargs.get("closure")
    if len(args) + len(kwargs) > 1 or (closure is not None and not isinstance(closure, PROGRAM_CALLABLES)):
        raise GradtraceError("not_allowed", "kwarg_not_allowed", {"name": "closure", "func": "step"})
    charge_step(target)
    return target.step() if closure is None else target.step(closure)


def _module_list(name: str) -> Handler:
    """``state_dict()``, ``named_modules()``…: finished lists and dicts, never live generators."""

    def handler(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = getattr(target, name)(*args, **kwargs)
        return result if isinstance(result, dict) else list(result)

    return handler


def _append(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    check_sequence(len(target) + 1, budget.budget().limits)
    target.append(*args, **kwargs)


# Their handlers check the callable they get is the program's own (or a dtype for `type`).
CALLBACK_METHODS = frozenset(
    {"register_hook", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
     "register_full_backward_pre_hook", "register_post_accumulate_grad_hook", "step", "apply", "type",
     "astype"}
)  # fmt: skip


def _hook(name: str) -> Handler:
    """``x.register_hook(f)``, ``model.register_forward_hook(f)``: ``f`` must be the program's own
    function, so that torch calling it re-enters the interpreter with the run's budget."""

    def handler(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        from gradtrace.run.functions import PROGRAM_CALLABLES

        if kwargs or len(args) != 1 or not isinstance(args[0], PROGRAM_CALLABLES):
            what = "a hook that is not the program's own function"
            raise GradtraceError("not_allowed", "value_not_allowed", {"what": what, "func": name})
        return getattr(target, name)(args[0])

    return handler


_NO_PREFLIGHT = words(
    "item size dim numel nelement is_contiguous is_floating_point element_size get_device requires_grad_ "
    "retain_grad detach numpy data_ptr float double long int bool half contiguous clone view view_as "
    "reshape squeeze unsqueeze flatten t transpose permute"
)  # cheap, or views whose size the input already bounds


def _preflighted(name: str) -> Handler:
    impl = getattr(torch.Tensor, name)

    def handler(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        preflight(name, impl, (target, *args), kwargs)
        return impl(target, *args, **kwargs)

    return handler


def _tensor_table(plain_names: str, **special: Handler) -> dict[str, Handler]:
    names = plain_names.split()
    table = {name: _plain(name) if name in _NO_PREFLIGHT else _preflighted(name) for name in names}
    table.update(special)
    return table


def _table(plain_names: str, **special: Handler) -> dict[str, Handler]:
    table = {name: _plain(name) for name in plain_names.split()}
    table.update(special)
    return table


_TENSOR_PLAIN = (
    "abs exp log log2 log10 sin cos tan tanh sigmoid relu sqrt rsqrt neg square sign floor ceil round "
    "sum mean std var max min argmax argmin prod cumsum clamp clip norm softmax log_softmax "
    "reshape view view_as squeeze unsqueeze flatten transpose t permute contiguous chunk split unbind "
    "detach clone float double long int bool half item numpy requires_grad_ retain_grad zero_ fill_ "
    "size dim numel nelement is_contiguous is_floating_point element_size all any nonzero "
    "abs_ exp_ relu_ sigmoid_ tanh_ neg_ sqrt_ log_ clamp_ sort argsort topk get_device type_as "
    "count_nonzero isnan isinf"
)
_BROADCAST = words(
    "add sub mul div pow eq ne lt le gt ge maximum minimum dist add_ sub_ mul_ div_ pow_ masked_fill "
    "masked_fill_ where true_divide fmod remainder copy_ expand_as lerp"
)

def _astype(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``a.astype(np.float32)``: numeric dtypes only (strings and objects would grow or hold anything)."""
    from gradtrace.run.guards import numpy_numeric
    from gradtrace.run.values import Func

    args = tuple(a.cls if isinstance(a, Func) and a.cls in (int, float, bool) else a for a in args)
    numpy_numeric(args, kwargs)
    if any(not isinstance(a, str | type | np.dtype) for a in args):
        what = repr(args[0])[:60]
        raise GradtraceError("not_allowed", "value_not_allowed", {"what": what, "func": "astype"})
    return target.astype(*args, **kwargs)


def _type(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``x.type(torch.float64)`` or ``x.type('torch.DoubleTensor')``; never another device's type."""
    from gradtrace.run.values import Func

    wanted = args[0] if args else kwargs.get("dtype")
    if isinstance(wanted, Func) and isinstance(wanted.cls, type) and wanted.name.endswith("Tensor"):
        wanted = wanted.cls  # torch.FloatTensor, the legacy type
    elif wanted is not None and not isinstance(wanted, torch.dtype | str):
        raise GradtraceError("not_allowed", "value_not_allowed", {"what": repr(wanted)[:60], "func": "type"})
    if isinstance(wanted, str) and "cuda" in wanted:
        check_device("cuda")
    if wanted is None:
        return target.type()
    return target.type(wanted, **{k: v for k, v in kwargs.items() if k != "dtype"})


def _by_class(table: dict[str, Handler]) -> dict[str, Handler]:
    """Every other public tensor method (``surface.py``), pre-flighted; their keywords are open."""
    for name in tensor_methods():
        if name not in table:
            table[name] = _plain(name) if name in _NO_PREFLIGHT else _preflighted(ZEROED.get(name, name))
            OPEN_KEYWORDS.add(name)
    table["type"] = _type
    return table


OPEN_KEYWORDS: set[str] = set()
_LISTED = words("state_dict named_modules modules named_children buffers named_buffers")

METHODS: dict[str, dict[str, Handler]] = {
    "tensor": _by_class(_tensor_table(
        _TENSOR_PLAIN,
        **{name: _guarded(name, _broadcast) for name in _BROADCAST},
        **{name: _guarded(name, _matmul) for name in ("matmul", "mm", "mv", "dot", "bmm")},
        outer=_guarded("outer", _outer),
        new_zeros=_guarded("new_zeros", _new_sized),
        new_ones=_guarded("new_ones", _new_sized),
        repeat=_guarded("repeat", _repeat),
        tile=_guarded("tile", _repeat),
        expand=_guarded("expand", _expand),
        tolist=_tolist,
        to=_to,
        cuda=_cuda,
        cpu=_plain("cpu"),
        backward=_backward,
        register_hook=_hook("register_hook"),
        register_post_accumulate_grad_hook=_hook("register_post_accumulate_grad_hook"),
    )),
    "size": _table("numel"),
    "dtype": {},
    "device": {},
    "grad_fn": _table("name"),
    "module": _table(
        "zero_grad train eval requires_grad_ cpu forward float double half load_state_dict add_module "
        "register_buffer register_parameter get_submodule get_parameter extra_repr",
        **{n: _module_list(n) for n in _LISTED},
        parameters=_parameters,
        named_parameters=_named_parameters,
        children=_children,
        register_forward_hook=_hook("register_forward_hook"),
        register_forward_pre_hook=_hook("register_forward_pre_hook"),
        register_full_backward_hook=_hook("register_full_backward_hook"),
        register_full_backward_pre_hook=_hook("register_full_backward_pre_hook"),
        apply=_hook("apply"),
        to=_to,
        cuda=_cuda,
    ),
    "optimizer": _table("zero_grad state_dict load_state_dict add_param_group", step=_step),
    "scheduler": _table("step get_last_lr state_dict"),
    "ndarray": _table(
        "sum mean max min reshape item transpose flatten ravel copy std var argmax argmin clip squeeze",
        tolist=_tolist,
        astype=_astype,
    ),
    "return_types": {},
    "list": LIST_METHODS,
    "dict": DICT_METHODS,
    "set": SET_METHODS,
    "ctx": CTX_METHODS,
    "exception": {},
    "loader": {},
    "handle": _table("remove"),
    "str": {**STR_METHODS, "format": format_method(dispatch.render)},
}
