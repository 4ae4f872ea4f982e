"""Builtins that walk values and may call the program's functions: ``map``, ``filter``,
``sorted``, ``reversed``, ``any``, ``all``, ``iter``, ``next``, ``min``/``max`` with ``key``.

Each sizes what it walks first, calls functions only through ``calls.call`` (so a
program function re-enters the interpreter with its budget), and hands back a
finished ``ListIterator`` where Python would give a lazy one.
"""

from __future__ import annotations

import ast
import functools
from typing import Any

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget, dispatch, operators
from gradtrace.run.calls import call
from gradtrace.run.classes import info_of
from gradtrace.run.iterators import ListIterator
from gradtrace.sandbox import check_sequence


def items_of(value: Any, what: str) -> list[Any]:
    """Every item of ``value`` (sized before it is walked, when it can be)."""
    from gradtrace.run.builtins import sized

    if info_of(value) is None and not hasattr(type(value), "iterate_in_sandbox"):
        sized(value, what)
        return list(dispatch.iterate(value))
    result: list[Any] = []
    for item in dispatch.iterate(value):
        result.append(item)
        check_sequence(len(result), budget.budget().limits)
    return result


def _map(function: Any, *iterables: Any) -> ListIterator:
    columns = [items_of(value, "the arguments of map()") for value in iterables]
    if not columns:
        raise _type_error("map() must have at least two arguments.")
    count = min(len(column) for column in columns)
    budget.budget().expect(count, count)
    return ListIterator([call(function, tuple(c[i] for c in columns), {}) for i in range(count)], "map")


def _filter(function: Any, iterable: Any) -> ListIterator:
    keep = []
    for item in items_of(iterable, "the argument of filter()"):
        budget.budget().step()
        if dispatch.truthy(item if function is None else call(function, (item,), {})):
            keep.append(item)
    return ListIterator(keep, "filter")


def _keyed(items: list[Any], key: Any) -> list[Any]:
    return items if key is None else [call(key, (item,), {}) for item in items]


def _less(left: Any, right: Any) -> bool:
    return dispatch.truthy(dispatch.compare_any(ast.Lt(), left, right))


def _sorted(iterable: Any, *, key: Any = None, reverse: bool = False) -> list[Any]:
    items = items_of(iterable, "the argument of sorted()")
    keys = _keyed(items, key)
    def by_key(a: int, b: int) -> int:
        return -1 if _less(keys[a], keys[b]) else 1 if _less(keys[b], keys[a]) else 0

    order = sorted(range(len(items)), key=functools.cmp_to_key(by_key))
    result = [items[i] for i in order]
    return result[::-1] if reverse else result


def _extreme(name: str, largest: bool):  # type: ignore[no-untyped-def]
    from gradtrace.run.builtins import plain_extreme

    def run(*args: Any, key: Any = None, default: Any = dispatch.NO_DEFAULT) -> Any:
        items = items_of(args[0], f"the argument of {name}()") if len(args) == 1 else list(args)
        if key is None and not any(info_of(item) is not None for item in items):
            if not items and default is not dispatch.NO_DEFAULT:
                return default
            return plain_extreme(name, (items,) if len(args) == 1 else args)
        if not items:
            if default is not dispatch.NO_DEFAULT:
                return default
            raise _value_error(f"{name}() arg is an empty sequence")
        keys = _keyed(items, key)
        best = 0
        for index in range(1, len(items)):
            if _less(keys[best], keys[index]) if largest else _less(keys[index], keys[best]):
                best = index
        return items[best]

    return run


def _reversed(value: Any) -> ListIterator:
    return ListIterator(items_of(value, "the argument of reversed()")[::-1], "reversed")


def _any(value: Any) -> bool:
    return any(dispatch.truthy(item) for item in items_of(value, "the argument of any()"))


def _all(value: Any) -> bool:
    return all(dispatch.truthy(item) for item in items_of(value, "the argument of all()"))


def _iter(value: Any) -> ListIterator:
    if isinstance(value, ListIterator):
        return value
    return ListIterator(items_of(value, "the argument of iter()"), "iterator")


def _next(iterator: Any, *default: Any) -> Any:
    if not isinstance(iterator, ListIterator):
        raise _type_error(f"'{type(iterator).__name__}' object is not an iterator")
    try:
        return iterator.next()
    except StopIteration:
        if default:
            return default[0]
        raise GradtraceError(
            "runtime", "python_error", {"kind": "StopIteration", "detail": "the iterator is exhausted"}
        ) from None


def _sum(iterable: Any, start: Any = 0) -> Any:
    """``sum`` over the program's objects folds with their ``__add__`` (micrograd's ``sum(w*x)``)."""
    total = start
    for item in items_of(iterable, "the argument of sum()"):
        budget.budget().step()
        if info_of(total) is not None or info_of(item) is not None:
            total = dispatch.binary(ast.Add(), total, item)
        else:
            total = operators.binary(ast.Add(), total, item)
    return total


def _type_error(detail: str) -> GradtraceError:
    return GradtraceError("runtime", "python_error", {"kind": "TypeError", "detail": detail}, detail=detail)


def _value_error(detail: str) -> GradtraceError:
    return GradtraceError("runtime", "python_error", {"kind": "ValueError", "detail": detail}, detail=detail)


FUNCTIONS: dict[str, Any] = {
    "map": _map, "filter": _filter, "sorted": _sorted, "reversed": _reversed, "any": _any, "all": _all,
    "iter": _iter, "next": _next, "program_sum": _sum,
    "min": _extreme("min", largest=False), "max": _extreme("max", largest=True),
}  # fmt: skip
