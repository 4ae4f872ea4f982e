"""Python's implicit protocols, run by the sandbox for the program's own objects.

CPython would call ``__add__``, ``__bool__``, ``__iter__`` or ``__repr__`` from C code,
outside any check. Program classes never hold those dunders (``classes.py`` keeps
them aside), so every implicit call happens here, as an ordinary checked call of a
``ProgramFunction``: operators (with the reflected ``__radd__`` and friends),
truth, iteration, ``len``, and the text ``print``/``str``/f-strings show.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget, operators
from gradtrace.run.classes import dunder, info_of
from gradtrace.run.indexing import get_item
from gradtrace.run.iterators import ListIterator
from gradtrace.run.shapes import check_printable

_NAMES: dict[type[ast.operator], str] = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv", ast.FloorDiv: "floordiv",
    ast.Mod: "mod", ast.Pow: "pow", ast.MatMult: "matmul",
}  # fmt: skip
_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
    ast.Pow: "**", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
}  # fmt: skip
_UNARY: dict[type[ast.unaryop], str] = {ast.USub: "__neg__", ast.UAdd: "__pos__"}
_COMPARE: dict[type[ast.cmpop], tuple[str, str]] = {
    ast.Eq: ("__eq__", "__eq__"), ast.NotEq: ("__ne__", "__ne__"), ast.Lt: ("__lt__", "__gt__"),
    ast.LtE: ("__le__", "__ge__"), ast.Gt: ("__gt__", "__lt__"), ast.GtE: ("__ge__", "__le__"),
}  # fmt: skip
_ITERABLE = (
    list, tuple, range, str, torch.Size, torch.Tensor, np.ndarray, torch.nn.Sequential, dict, set, frozenset,
    ListIterator, torch.nn.ModuleList, torch.nn.ParameterList,
)  # fmt: skip


def _type_error(detail: str) -> GradtraceError:
    return GradtraceError("runtime", "python_error", {"kind": "TypeError", "detail": detail}, detail=detail)


def _named(value: Any) -> str:
    info = info_of(value)
    return info.name if info is not None else type(value).__name__


def binary(op: ast.operator, left: Any, right: Any, *, inplace: bool = False) -> Any:
    """``a + b`` with program objects: ``__iadd__``, ``__add__``, then the right's ``__radd__``."""
    name = _NAMES.get(type(op))
    if name is not None:
        for method, argument in _candidates(name, left, right, inplace):
            if method is not None:
                result = method(argument)
                if result is not NotImplemented:
                    return result
    if info_of(left) is None and info_of(right) is None:  # pragma: no cover - the caller checked
        return operators.binary(op, left, right, inplace=inplace)
    symbol = _SYMBOLS.get(type(op), "?")
    raise _type_error(f"unsupported operand type(s) for {symbol}: '{_named(left)}' and '{_named(right)}'")


def _candidates(name: str, left: Any, right: Any, inplace: bool) -> list[tuple[Any, Any]]:
    found = []
    if inplace:
        found.append((dunder(left, f"__i{name}__"), right))
    found.append((dunder(left, f"__{name}__"), right))
    if type(left) is not type(right):
        found.append((dunder(right, f"__r{name}__"), left))
    return found


def unary(op: ast.unaryop, operand: Any) -> Any:
    name = "__abs__" if op is None else _UNARY.get(type(op))
    method = dunder(operand, name) if name else None
    if method is None:
        raise _type_error(f"bad operand type for unary operator: '{_named(operand)}'")
    return method()


def compare(op: ast.cmpop, left: Any, right: Any) -> Any:
    if isinstance(op, ast.Is | ast.IsNot):
        return operators.compare(op, left, right)
    if isinstance(op, ast.In | ast.NotIn):
        found = contains(right, left)
        return found if isinstance(op, ast.In) else not found
    forward, reflected = _COMPARE[type(op)]
    for method, argument in ((dunder(left, forward), right), (dunder(right, reflected), left)):
        if method is not None:
            result = method(argument)
            if result is not NotImplemented:
                return result
    if isinstance(op, ast.Eq):
        return left is right
    if isinstance(op, ast.NotEq):
        return left is not right
    raise _type_error(f"'{forward.strip('_')}' not supported between '{_named(left)}' and '{_named(right)}'")


def contains(container: Any, item: Any) -> bool:
    method = dunder(container, "__contains__")
    if method is not None:
        return truth(method(item))
    if info_of(container) is not None or isinstance(container, list | tuple | ListIterator):
        # Python compares each element with ==: the program's own __eq__ where it has one
        equal = ast.Eq()
        return any(e is item or truthy(compare_any(equal, e, item)) for e in iterate(container))
    return bool(operators.compare(ast.In(), item, container))


NO_DEFAULT = object()


def truthy(value: Any) -> bool:
    """Truth of any value (the program's ``__bool__`` when it has one)."""
    return truth(value) if info_of(value) is not None else bool(value)


def compare_any(op: ast.cmpop, left: Any, right: Any) -> Any:
    if info_of(left) is not None or info_of(right) is not None:
        return compare(op, left, right)
    return operators.compare(op, left, right)


def truth(value: Any) -> bool:
    for name in ("__bool__", "__len__"):
        method = dunder(value, name)
        if method is not None:
            result = method()
            if name == "__bool__" and not isinstance(result, bool):
                raise _type_error("__bool__ should return bool")
            return bool(result)
    return bool(value) if info_of(value) is None else True


def length(value: Any) -> int:
    method = dunder(value, "__len__")
    if method is None:
        raise _type_error(f"object of type '{_named(value)}' has no len()")
    result = method()
    if isinstance(result, bool) or not isinstance(result, int) or result < 0:
        raise _type_error("__len__() should return a non-negative int")
    return result


def iterate(value: object) -> Iterator[Any]:
    """What a for loop walks. A tensor is walked row by row, lazily: ``iter(tensor)``
    would split all of its rows up front (millions of views for a tall tensor)."""
    if info_of(value) is not None:
        return _iterate_program(value)
    loader = getattr(type(value), "iterate_in_sandbox", None)
    if loader is not None:  # the sandbox's DataLoader
        return loader(value)
    if not isinstance(value, _ITERABLE):
        raise GradtraceError("runtime", "not_iterable", {"what": type(value).__name__})
    if isinstance(value, torch.Tensor):
        if len(value.shape) == 0:
            raise GradtraceError("runtime", "not_iterable", {"what": "a 0-d tensor"})
        return (get_item(value, i) for i in range(len(value)))
    return iter(value)


def _iterate_program(value: object) -> Iterator[Any]:
    """``__iter__`` (its result walked as any value), else ``__len__`` with ``__getitem__``."""
    method = dunder(value, "__iter__")
    if method is not None:
        result = method()
        if info_of(result) is not None and result is not value:
            return _iterate_program(result)
        if result is value:
            raise _type_error("__iter__ returning self needs __next__, which is not supported here")
        return iterate(result)
    getter = dunder(value, "__getitem__")
    if getter is None:
        raise GradtraceError("runtime", "not_iterable", {"what": _named(value)})
    count = length(value)
    budget.budget().expect(count, count)
    return (getter(index) for index in range(count))


def is_program_value(value: Any) -> bool:
    """Is there a program object in ``value`` (itself, or in a list, tuple or dict it holds)?"""
    state = budget.current()
    if state is None or not state.classes:
        return False
    if type(value) in state.classes:
        return True
    if isinstance(value, list | tuple | set):
        return any(type(item) in state.classes or (isinstance(item, list | tuple) and is_program_value(item))
                   for item in value)  # fmt: skip
    if isinstance(value, dict):
        return any(is_program_value(k) or is_program_value(v) for k, v in value.items())
    return False


def to_text(value: Any, conversion: str = "s") -> str:
    """``str(x)``/``repr(x)`` as the program's own ``__str__``/``__repr__`` say (sized before printing)."""
    if info_of(value) is not None:
        return _object_text(value, conversion)
    if isinstance(value, list | tuple | set | dict):
        operators.sequence_size(list(value) if isinstance(value, set | dict) else value, "chars")
        return _container_text(value)
    check_printable(value)
    return repr(value) if conversion == "r" else str(value)


def _object_text(value: Any, conversion: str) -> str:
    names = ("__str__", "__repr__") if conversion == "s" else ("__repr__",)
    for name in names:
        method = dunder(value, name)
        if method is not None:
            text = method()
            if not isinstance(text, str):
                raise _type_error(f"{name} returned non-string (type {type(text).__name__})")
            return text
    if isinstance(value, torch.nn.Module | BaseException):
        return repr(value) if conversion == "r" else str(value)
    return f"<__main__.{_named(value)} object>"


def _container_text(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{to_text(k, 'r')}: {to_text(v, 'r')}" for k, v in value.items()) + "}"
    items = ", ".join(to_text(item, "r") for item in value)
    if isinstance(value, tuple):
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, set):
        return "{" + items + "}" if value else "set()"
    return f"[{items}]"


def render(value: Any, conversion: str, spec: str) -> str:
    """How ``str.format`` and ``%`` show a value: the program's own text for its objects."""
    from gradtrace.run.strings import default_render

    if is_program_value(value):
        if spec:
            raise GradtraceError("not_allowed", "format_not_allowed", {"spec": spec})
        return to_text(value, "r" if conversion == "r" else "s")
    return default_render(value, conversion, spec)
