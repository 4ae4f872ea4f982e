"""``collections.namedtuple``: real namedtuple classes, made from checked names.

The class is Python's own (so an instance is a tuple everywhere: indexing, unpacking,
``len``, ``==``, ``print``), built from a type name and field names that must be plain
identifiers, at most ``MAX_FIELDS``. A program reads an instance's fields and ``_fields``,
and calls ``_asdict()``, ``_replace(...)`` and the class's ``_make(...)``; nothing else of
the class is reachable.
"""

from __future__ import annotations

import collections
import keyword
import weakref
from typing import Any

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget

MAX_FIELDS = 64
_MADE: weakref.WeakSet[type] = weakref.WeakSet()  # the classes programs made
_METHODS = frozenset({"_asdict", "_replace"})


def _names(field_names: Any) -> list[str]:
    if isinstance(field_names, str):
        names = field_names.replace(",", " ").split()
    else:
        names = list(field_names) if isinstance(field_names, list | tuple) else []
    if not names or len(names) > MAX_FIELDS or not all(_plain(n) for n in names):
        raise ValueError(f"namedtuple fields must be 1 to {MAX_FIELDS} names without a leading underscore")
    return names


def _plain(name: object) -> bool:
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name) and name[0] != "_"


def namedtuple(typename: str, field_names: Any, *, defaults: Any = None) -> type:
    """``Point = namedtuple("Point", ["x", "y"])``: the class, callable like any class here."""
    if not _plain(typename):
        raise ValueError("a namedtuple's name must be an identifier without a leading underscore")
    names = _names(field_names)
    if defaults is not None and (not isinstance(defaults, list | tuple) or len(defaults) > len(names)):
        raise ValueError("defaults must be a list or tuple no longer than the fields")
    budget.budget().step(len(names))
    made = collections.namedtuple(typename, names, defaults=defaults, module="__main__")  # type: ignore[misc]
    _MADE.add(made)
    return made


def is_namedtuple_class(value: object) -> bool:
    return isinstance(value, type) and value in _MADE


def is_namedtuple(value: object) -> bool:
    return type(value) in _MADE


class TupleMethod:
    """``p._asdict``, ``p._replace``, ``Point._make``: a method the program may call."""

    __slots__ = ("bound",)

    def __init__(self, bound: Any) -> None:
        self.bound = bound

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.bound(*args, **kwargs)


def _make(cls: type) -> Any:
    def make(iterable: Any) -> Any:
        from gradtrace.run.builtins_iter import items_of  # the builtins import this module's users

        return cls(*items_of(iterable, f"the argument of {cls.__name__}._make()"))

    return make


def attribute(value: Any, name: str) -> Any:
    """A field, ``_fields``, or one of the three methods, of an instance or its class."""
    if name == "_fields":
        return value._fields
    cls = value if is_namedtuple_class(value) else type(value)
    if name == "_make":
        return TupleMethod(_make(cls))
    if cls is not value and (name in value._fields or name in _METHODS):
        found = getattr(value, name)
        return TupleMethod(found) if name in _METHODS else found
    raise GradtraceError("not_allowed", "attribute_not_allowed", {"attr": name, "owner": cls.__name__})
