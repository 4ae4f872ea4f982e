"""Methods of the program's lists, dicts and sets, each sized before it grows anything.

Views (``d.items()``) come back as lists: the program walks or prints them the same,
and a list cannot change under a loop the way a live view would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget
from gradtrace.sandbox import check_sequence

Handler = Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]


def _grow(target: Any, extra: int) -> None:
    check_sequence(len(target) + extra, budget.budget().limits)


def _items(value: Any) -> list[Any]:
    from gradtrace.run.builtins_iter import items_of

    return items_of(value, "the argument")


def _plain(name: str) -> Handler:
    return lambda target, args, kwargs: getattr(target, name)(*args, **kwargs)


def _viewed(name: str) -> Handler:
    def handler(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        budget.budget().step(len(target))
        return list(getattr(target, name)())

    return handler


def _append(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _grow(target, 1)
    target.append(*args, **kwargs)


def _extend(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    items = _items(args[0]) if args else []
    _grow(target, len(items))
    target.extend(items)


def _insert(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _grow(target, 1)
    target.insert(*args)


def _sort(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    from gradtrace.run.builtins_iter import FUNCTIONS

    if args:
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": "sort() takes no positional arguments"}
        )
    target[:] = FUNCTIONS["sorted"](target, **kwargs)


def _update(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    extra = [
        *(_items(args[0].items() if isinstance(args[0], dict) else args[0]) if args else []),
        *kwargs.items(),
    ]
    _grow(target, len(extra))
    if isinstance(target, dict):
        target.update(extra)
    else:
        target.update(*(_items(a) for a in args))


def _set_op(name: str) -> Handler:
    def handler(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        others = [_items(arg) for arg in args]
        check_sequence(len(target) + sum(len(o) for o in others), budget.budget().limits)
        return getattr(target, name)(*others)

    return handler


def _add(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _grow(target, 1)
    target.add(*args)


def _setdefault(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    _grow(target, 1)
    return target.setdefault(*args)


def _copy(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    budget.budget().step(len(target))
    return target.copy()


def _equal_search(name: str) -> Handler:
    """``count``/``index``/``remove`` compare with ==: the program's own ``__eq__`` where it has one."""

    def handler(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        from gradtrace.run import dispatch

        if not args or not (dispatch.is_program_value(args[0]) or dispatch.is_program_value(target)):
            return getattr(target, name)(*args, **kwargs)
        budget.budget().step(len(target))
        hits = [i for i, element in enumerate(target) if dispatch.contains([element], args[0])]
        if name == "count":
            return len(hits)
        if not hits:
            raise GradtraceError(
                "runtime", "python_error", {"kind": "ValueError", "detail": f"list.{name}(x): x not in list"}
            )
        if name == "index":
            return hits[0]
        del target[hits[0]]
        return None

    return handler


LIST_METHODS: dict[str, Handler] = {
    **{name: _plain(name) for name in ("pop", "reverse", "clear")},
    **{name: _equal_search(name) for name in ("index", "count", "remove")},
    "append": _append, "extend": _extend, "insert": _insert, "sort": _sort, "copy": _copy,
}  # fmt: skip
DICT_METHODS: dict[str, Handler] = {
    **{name: _viewed(name) for name in ("keys", "values", "items")},
    **{name: _plain(name) for name in ("get", "pop", "clear", "popitem")},
    "update": _update, "setdefault": _setdefault, "copy": _copy,
}  # fmt: skip
SET_METHODS: dict[str, Handler] = {
    **{name: _plain(name) for name in ("remove", "discard", "pop", "clear", "issubset", "issuperset")},
    "isdisjoint": _plain("isdisjoint"),
    **{name: _set_op(name) for name in ("union", "intersection", "difference", "symmetric_difference")},
    "add": _add, "update": _update, "copy": _copy,
}  # fmt: skip
CTX_METHODS: dict[str, Handler] = {
    name: _plain(name)
    for name in ("save_for_backward", "mark_non_differentiable", "mark_dirty", "set_materialize_grads")
}
