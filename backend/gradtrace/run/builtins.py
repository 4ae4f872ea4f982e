"""The safe builtins: ``range len abs min max sum round float int bool list tuple print enumerate zip``.

Each one that walks a sequence checks its length first (``sum(range(10**18))``
would otherwise run forever), and ``print`` writes to the run's captured output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget
from gradtrace.run.operators import sequence_size
from gradtrace.run.shapes import nested_size, range_length
from gradtrace.run.values import Func
from gradtrace.sandbox import check_int_bits, check_sequence

SEQUENCE_TYPES = (list, tuple, range, str, torch.Size, torch.Tensor, np.ndarray, torch.nn.Sequential)


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


def _list(value: Any = ()) -> list[Any]:
    sized(value, "the argument of list()")
    return list(value)


def _tuple(value: Any = ()) -> tuple[Any, ...]:
    sized(value, "the argument of tuple()")
    return tuple(value)


def _enumerate(value: Any, start: int = 0) -> list[tuple[int, Any]]:
    sized(value, "the argument of enumerate()")
    if isinstance(start, bool) or not isinstance(start, int):
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": "start must be an int"}
        )
    check_int_bits(start.bit_length(), budget.budget().limits)
    return list(enumerate(value, start))


def _zip(*values: Any) -> list[tuple[Any, ...]]:
    for value in values:
        sized(value, "the arguments of zip()")
    return list(zip(*values, strict=False))


def _int(value: Any = 0) -> int:
    if isinstance(value, str):
        check_sequence(len(value), budget.budget().limits)
    return int(_int_result(int(value)))


def _round(value: Any, ndigits: int | None = None) -> Any:
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
        text = str(arg)
        run.budget.print(len(text) + len(sep))
        pieces.append(text)
    text = sep.join(pieces) + end
    run.budget.print(len(end))
    run.printed.append(text)


_PRINT_KWARGS = frozenset({"sep", "end"})
_NONE = frozenset[str]()

BUILTINS: dict[str, Func] = {
    "range": Func("range", _range, kwargs=_NONE, accepts="any"),
    "len": Func("len", len, kwargs=_NONE, accepts="any"),
    "abs": Func("abs", abs, kwargs=_NONE, accepts="any"),
    "min": Func("min", _walk("min", min), kwargs=_NONE, accepts="any"),
    "max": Func("max", _walk("max", max), kwargs=_NONE, accepts="any"),
    "sum": Func("sum", _walk("sum", sum), kwargs=frozenset({"start"}), accepts="any"),
    "round": Func("round", _round, kwargs=frozenset({"ndigits"}), accepts="any"),
    "float": Func("float", float, kwargs=_NONE, accepts="any"),
    "int": Func("int", _int, kwargs=_NONE, accepts="any"),
    "bool": Func("bool", bool, kwargs=_NONE, accepts="any"),
    "list": Func("list", _list, kwargs=_NONE, accepts="any"),
    "tuple": Func("tuple", _tuple, kwargs=_NONE, accepts="any"),
    "print": Func("print", _print, kwargs=_PRINT_KWARGS, accepts="any"),
    "enumerate": Func("enumerate", _enumerate, kwargs=frozenset({"start"}), accepts="any"),
    "zip": Func("zip", _zip, kwargs=_NONE, accepts="any"),
}
