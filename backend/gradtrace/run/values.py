"""The only callables a program can hold: ``Func``, ``Method`` and allowed modules.

A callable is a capability. Each ``Func`` is created once, at import, by a
facade, and recorded in ``REGISTRY``; the interpreter calls a ``Func`` only if
it is that very object. A ``Method`` is made by the attribute policy when the
program reads ``x.sum``; it remembers the object and the (allowed) name.
None of these classes exposes attributes to the program.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Guard = Callable[[tuple[Any, ...], dict[str, Any]], None]
Impl = Callable[..., Any]

REGISTRY: set[int] = set()  # id() of every Func; Funcs are never freed
_KEEP: list[Func] = []


class Func:
    """A curated function: ``guard`` checks sizes before ``impl`` allocates anything."""

    __slots__ = ("accepts", "cls", "guard", "impl", "kwargs", "name")

    def __init__(
        self,
        name: str,
        impl: Impl,
        guard: Guard | None = None,
        kwargs: frozenset[str] | None = None,
        accepts: str = "data",
        cls: type | None = None,
    ):
        self.name = name
        self.cls = cls if cls is not None else impl if isinstance(impl, type) else None  # for isinstance
        self.accepts = accepts  # "data": tensors and numbers; "modules": also nn modules; "any"
        self.impl = impl
        self.guard = guard
        self.kwargs = kwargs  # None: the shared allow-list of keyword arguments
        REGISTRY.add(id(self))
        _KEEP.append(self)

    def __repr__(self) -> str:
        return f"<function {self.name}>"


def is_registered(value: object) -> bool:
    return isinstance(value, Func) and id(value) in REGISTRY


class Method:
    """A method read from a value (``x.sum``): calling it goes through the policy again."""

    __slots__ = ("name", "owner", "target")

    def __init__(self, target: object, name: str, owner: str):
        self.target = target
        self.name = name
        self.owner = owner  # the policy table that allowed it: "tensor", "module"...

    def __repr__(self) -> str:
        return f"<method {self.owner}.{self.name}>"


class Facade:
    """A curated stand-in for a module (``torch``, ``nn``...): a name → value table.

    Never a real module: ``torch`` has dozens of plain-attribute paths to ``os``.
    """

    __slots__ = ("members", "name")

    def __init__(self, name: str, members: dict[str, object]):
        self.name = name
        self.members = members

    def __repr__(self) -> str:
        return f"<module '{self.name}'>"


def words(text: str) -> frozenset[str]:
    """A set of names written as one string: allow-lists read better as prose."""
    return frozenset(text.split())


class AnyKeywords(frozenset):
    """The keyword allow-list of a call that does nothing with its arguments (``plt.plot``),
    or of a pre-flighted op: any public keyword but the few that reach past the tensor."""

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and not item.startswith("_") and item not in _REFUSED_KEYWORDS


# Pinned host memory, sparse layouts, generator objects: keywords that reach past the tensor.
_REFUSED_KEYWORDS = frozenset({"pin_memory", "layout", "generator"})


class Inert:
    """What an accepted-and-ignored call returns (a matplotlib figure or axes)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<plot (not drawn here)>"


def _ignore(*args: Any, **kwargs: Any) -> Any:
    return (INERT, INERT)


INERT = Inert()
INERT_CALL = Func("plot", _ignore, kwargs=AnyKeywords(), accepts="any")
