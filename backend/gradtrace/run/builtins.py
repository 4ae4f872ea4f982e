"""The safe builtins: ``range len abs min max sum round float int bool list tuple print enumerate zip``.

Each one that walks a sequence checks its length first (``sum(range(10**18))``
would otherwise run forever), and ``print`` writes to the run's captured output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget, dispatch
from gradtrace.run.classes import info_of
from gradtrace.run.iterators import ListIterator
from gradtrace.run.operators import sequence_size
from gradtrace.run.shapes import check_printable, nested_size, range_length
from gradtrace.run.values import Func
from gradtrace.sandbox import check_int_bits, check_sequence, pow_bits

SEQUENCE_TYPES = (
    list, tuple, range, str, torch.Size, torch.Tensor, np.ndarray, torch.nn.Sequential, dict, set, frozenset,
    ListIterator, torch.nn.ModuleList, torch.nn.ParameterList,
)  # fmt: skip


def sized(value: object, what: str = "value") -> int:
    """The length of a value a builtin will walk, checked against the limits."""
    if not isinstance(value, SEQUENCE_TYPES):
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": f"{what} must be a sequence"}
        )
    if isinstance(value, torch.Tensor) and len(value.shape) == 0:
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": "iteration over a 0-d tensor"}
        )
    length = range_length(value) if isinstance(value, range) else len(value)  # O(1), even for 10**30
    check_sequence(length, budget.budget().limits)
    budget.budget().step(length)
    return length


def _int_result(value: Any) -> Any:
    if isinstance(value, int):
        check_int_bits(value.bit_length(), budget.budget().limits)
    return value


def _range(*args: Any) -> range:
    for arg in args:
        if isinstance(arg, int):
            check_int_bits(arg.bit_length(), budget.budget().limits)
    return range(*args)


def _walk(name: str, impl: Any) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 or (args and name == "sum"):
            sized(args[0], f"the argument of {name}()")
        if name == "sum" and isinstance(args[-1] if len(args) == 2 else kwargs.get("start"), list | tuple):
            sequence_size(args[0])  # sum(rows, []) concatenates: bound the result first
        return _int_result(impl(*args, **kwargs))

    return run


def plain_extreme(name: str, args: tuple[Any, ...]) -> Any:
    return _walk(name, min if name == "min" else max)(*args)


def _list(value: Any = ()) -> list[Any]:
    from gradtrace.run.builtins_iter import items_of

    return items_of(value, "the argument of list()")


def _tuple(value: Any = ()) -> tuple[Any, ...]:
    return tuple(_list(value))


def _enumerate(value: Any, start: int = 0) -> list[tuple[int, Any]]:
    value = _list(value)
    if isinstance(start, bool) or not isinstance(start, int):
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": "start must be an int"}
        )
    check_int_bits(start.bit_length(), budget.budget().limits)
    return list(enumerate(value, start))


def _zip(*values: Any) -> list[tuple[Any, ...]]:
    return list(zip(*(_list(value) for value in values), strict=False))


def _int(value: Any = 0) -> int:
    if isinstance(value, str):
        check_sequence(len(value), budget.budget().limits)
    return int(_int_result(int(value)))


def _round(value: Any, ndigits: int | None = None) -> Any:
    """``round(7, -10**8)`` computes 10**(10**8) first: its size is checked before."""
    if isinstance(ndigits, int) and not isinstance(ndigits, bool):
        check_int_bits(ndigits.bit_length(), budget.budget().limits)
        if ndigits < 0 and isinstance(value, int):
            check_int_bits(pow_bits(10, -ndigits), budget.budget().limits)
    return _int_result(round(value) if ndigits is None else round(value, ndigits))


def _print(*args: Any, sep: str | None = " ", end: str | None = "\n") -> None:
    sep = " " if sep is None else sep
    end = "\n" if end is None else end
    if not isinstance(sep, str) or not isinstance(end, str):
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": "sep and end must be strings"}
        )
    run = budget.state()
    pieces = []
    for arg in args:
        if isinstance(arg, list | tuple):
            left = run.budget.limits.print_chars - run.budget.printed_chars
            nested_size(arg, max(left, 0), weigh="chars", code="print_too_long")
        check_printable(arg)
        text = dispatch.to_text(arg) if dispatch.is_program_value(arg) else str(arg)
        run.budget.print(len(text) + len(sep))
        pieces.append(text)
    text = sep.join(pieces) + end
    run.budget.print(len(end))
    run.printed.append(text)


_PRINT_KWARGS = frozenset({"sep", "end"})
_NONE = frozenset[str]()

def _len(value: Any) -> int:
    return dispatch.length(value) if info_of(value) is not None else len(value)


def _abs(value: Any) -> Any:
    return dispatch.unary(None, value) if info_of(value) is not None else abs(value)  # type: ignore[arg-type]


def _converter(name: str, impl: Any) -> Any:
    """``float(v)``/``int(v)`` of a program object: its ``__float__``/``__int__``."""

    def run(*args: Any) -> Any:
        if args and info_of(args[0]) is not None:
            method = dispatch.dunder(args[0], f"__{name}__")
            if method is None:
                raise GradtraceError(
                    "runtime",
                    "python_error",
                    {"kind": "TypeError", "detail": f"{name}() argument must be a number"},
                )
            return impl(method())
        return impl(*args)

    return run


def _holds_program_values(value: Any) -> bool:
    """Values whose sum must be folded step by step here (C's ``sum`` would run it unchecked)."""
    if info_of(value) is not None or isinstance(value, ListIterator) or dispatch.is_program_value(value):
        return True
    arrays = torch.Tensor | np.ndarray
    return isinstance(value, list | tuple) and any(isinstance(v, arrays) for v in value[:1024])


def _bool(*args: Any) -> bool:
    return dispatch.truthy(args[0]) if args else False


def _sum(*args: Any, **kwargs: Any) -> Any:
    from gradtrace.run.builtins_iter import FUNCTIONS

    start = kwargs.get("start", args[1] if len(args) > 1 else 0)
    if args and (_holds_program_values(args[0]) or info_of(start) is not None):
        return FUNCTIONS["program_sum"](*args, **kwargs)
    return _walk("sum", sum)(*args, **kwargs)


BUILTINS: dict[str, Any] = {
    "range": Func("range", _range, kwargs=_NONE, accepts="any", cls=range),
    "len": Func("len", _len, kwargs=_NONE, accepts="any"),
    "abs": Func("abs", _abs, kwargs=_NONE, accepts="any"),
    "sum": Func("sum", _sum, kwargs=frozenset({"start"}), accepts="any"),
    "round": Func("round", _round, kwargs=frozenset({"ndigits"}), accepts="any"),
    "float": Func("float", _converter("float", float), kwargs=_NONE, accepts="any", cls=float),
    "int": Func("int", _converter("int", _int), kwargs=_NONE, accepts="any", cls=int),
    "bool": Func("bool", _bool, kwargs=_NONE, accepts="any", cls=bool),
    "list": Func("list", _list, kwargs=_NONE, accepts="any", cls=list),
    "tuple": Func("tuple", _tuple, kwargs=_NONE, accepts="any", cls=tuple),
    "print": Func("print", _print, kwargs=_PRINT_KWARGS, accepts="any"),
    "enumerate": Func("enumerate", _enumerate, kwargs=frozenset({"start"}), accepts="any"),
    "zip": Func("zip", _zip, kwargs=_NONE, accepts="any"),
}


def _more_builtins() -> None:
    from gradtrace.run.builtins_iter import FUNCTIONS
    from gradtrace.run.builtins_types import TYPE_BUILTINS

    keyed = {"sorted": frozenset({"key", "reverse"}), "min": frozenset({"key", "default"}),
             "max": frozenset({"key", "default"})}  # fmt: skip
    for name, impl in FUNCTIONS.items():
        if name != "program_sum":
            BUILTINS[name] = Func(name, impl, kwargs=keyed.get(name, _NONE), accepts="any")
    BUILTINS.update(TYPE_BUILTINS)


_more_builtins()
SUPER = BUILTINS["super"]
