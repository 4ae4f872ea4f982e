"""Builtins about types, text and objects: ``type``, ``isinstance``, ``str``, ``repr``, ``dict``,
``set``, ``getattr``, ``hasattr``, ``callable``, ``id``, ``hash``, ``divmod``, ``pow``, ``format``,
``chr``, ``ord``, ``super``, ``object`` and the exceptions a program raises and catches.

``type(x)`` never hands out a host class: it answers with the builtin or facade that
stands for it (so ``type(3) == int``), the program's own class, or a ``TypeName``
that can be printed, named and compared, and nothing more.
"""

from __future__ import annotations

import ast
from typing import Any

import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget, dispatch, operators
from gradtrace.run.classes import EXCEPTION_BASES, class_info, info_of
from gradtrace.run.functions import PROGRAM_CALLABLES
from gradtrace.run.iterators import ListIterator
from gradtrace.run.namedtuples import is_namedtuple_class
from gradtrace.run.values import AnyKeywords, Facade, Func, Method, is_registered
from gradtrace.sandbox import check_int_bits, check_sequence
from gradtrace.sandbox.rules import FORMAT_SPEC


class TypeName:
    """What ``type(x)`` gives for a host class no facade names: printable, comparable, inert."""

    __slots__ = ("cls",)

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TypeName) and other.cls is self.cls

    def __hash__(self) -> int:
        return hash(self.cls)

    def __repr__(self) -> str:
        return f"<class '{self.cls.__module__}.{self.cls.__qualname__}'>"


def _type_error(detail: str) -> GradtraceError:
    return GradtraceError("runtime", "python_error", {"kind": "TypeError", "detail": detail}, detail=detail)


def _stand_ins() -> dict[type, Any]:
    from gradtrace.run.builtins import BUILTINS
    from gradtrace.run.facades import FACADES

    found: dict[type, Any] = {}
    for facade in FACADES.values():
        for member in facade.members.values():
            if isinstance(member, Func) and isinstance(member.cls, type):
                found.setdefault(member.cls, member)
    for member in BUILTINS.values():
        if isinstance(member, Func) and isinstance(member.cls, type):
            found[member.cls] = member
    return found


_STAND_INS: dict[type, Any] = {}


def _type(value: Any) -> Any:
    cls = type(value)
    if info_of(value) is not None:
        return cls
    if not _STAND_INS:
        _STAND_INS.update(_stand_ins())
    return _STAND_INS.get(cls) or TypeName(cls)


def as_class(spec: Any) -> type | tuple[type, ...]:
    """What ``isinstance``'s second argument names, as real classes (by identity, never by asking)."""
    if isinstance(spec, tuple):
        return tuple(c for item in spec for c in _flat(as_class(item)))
    if class_info(spec) is not None or is_namedtuple_class(spec):
        return spec
    if isinstance(spec, Func) and isinstance(spec.cls, type):
        return spec.cls
    if isinstance(spec, TypeName):
        return spec.cls
    raise _type_error("isinstance() arg 2 must be a type or tuple of types")


def _flat(value: type | tuple[type, ...]) -> tuple[type, ...]:
    return value if isinstance(value, tuple) else (value,)


def _isinstance(value: Any, spec: Any) -> bool:
    classes = as_class(spec)
    if type(value) is bool and int in _flat(classes) and bool not in _flat(classes):
        return True
    return isinstance(value, classes)


def _issubclass(value: Any, spec: Any) -> bool:
    cls = as_class(value)
    if isinstance(cls, tuple):
        raise _type_error("issubclass() arg 1 must be a class")
    return issubclass(cls, as_class(spec))


def _str(value: Any = "") -> str:
    return dispatch.to_text(value, "s")


def _repr(value: Any) -> str:
    return dispatch.to_text(value, "r")


def _dict(*args: Any, **kwargs: Any) -> dict[Any, Any]:
    from gradtrace.run.builtins_iter import items_of

    if len(args) > 1:
        raise _type_error(f"dict expected at most 1 argument, got {len(args)}")
    result: dict[Any, Any] = {}
    if args:
        source = args[0]
        result.update(source if isinstance(source, dict) else items_of(source, "the argument of dict()"))
    result.update(kwargs)
    check_sequence(len(result), budget.budget().limits)
    return result


def _set(value: Any = ()) -> set[Any]:
    from gradtrace.run.builtins_iter import items_of

    return set(items_of(value, "the argument of set()"))


def _frozenset(value: Any = ()) -> frozenset[Any]:
    return frozenset(_set(value))


def _getattr(value: Any, name: Any, *default: Any) -> Any:
    from gradtrace.run.policy import get_attribute

    if not isinstance(name, str):
        raise _type_error("attribute name must be string")
    try:
        return get_attribute(value, name)
    except GradtraceError as error:
        if default and error.type == "runtime":
            return default[0]
        raise


def _hasattr(value: Any, name: Any) -> bool:
    try:
        _getattr(value, name)
    except GradtraceError as error:
        if error.type == "runtime" or error.code == "attribute_not_allowed":
            return False
        raise
    return True


def _callable(value: Any) -> bool:
    if isinstance(value, Method | PROGRAM_CALLABLES) or is_registered(value) or class_info(value) is not None:
        return True
    if isinstance(value, torch.nn.Module):
        return True
    return info_of(value) is not None and dispatch.dunder(value, "__call__") is not None


def _id(value: Any) -> int:
    """Small stable numbers, not addresses."""
    ids = budget.state().ids
    return ids.setdefault(id(value), len(ids) + 1)


def _hash(value: Any) -> int:
    if isinstance(value, Facade | Func):
        raise _type_error("unhashable here")
    return hash(value)


def _divmod(a: Any, b: Any) -> tuple[Any, Any]:
    return (operators.binary(ast.FloorDiv(), a, b), operators.binary(ast.Mod(), a, b))


def _pow(base: Any, exponent: Any, modulus: Any = None) -> Any:
    if modulus is None:
        return operators.binary(ast.Pow(), base, exponent)
    for number in (base, exponent, modulus):
        if not isinstance(number, int):
            raise _type_error("pow() 3rd argument not allowed unless all arguments are integers")
        check_int_bits(number.bit_length(), budget.budget().limits)
    return pow(base, exponent, modulus)


def _format(value: Any, spec: str = "") -> str:
    if not isinstance(spec, str) or not FORMAT_SPEC.fullmatch(spec):
        raise GradtraceError("not_allowed", "format_not_allowed", {"spec": str(spec)[:40]})
    if info_of(value) is not None:
        return dispatch.to_text(value, "s") if not spec else _refuse_spec(spec)
    return format(value, spec)


def _refuse_spec(spec: str) -> str:
    raise GradtraceError("not_allowed", "format_not_allowed", {"spec": spec})


def _chr(code: int) -> str:
    if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code <= 0x10FFFF:
        raise GradtraceError(
            "runtime", "python_error", {"kind": "ValueError", "detail": "chr() arg not in range"}
        )
    return chr(code)


def _super(*args: Any) -> None:
    raise _type_error("super() is called by the interpreter")  # see Interpreter._call


def _decorator_only(name: str) -> Any:
    def refuse(*args: Any) -> None:
        raise GradtraceError("not_allowed", "decorator_not_allowed", {"what": f"{name}(...) outside @{name}"})

    return refuse


def _object() -> object:
    return object()


def _exception(cls: type[BaseException]) -> Func:
    def make(*args: Any) -> BaseException:
        for arg in args:
            if isinstance(arg, str):
                check_sequence(len(arg), budget.budget().limits)
        return cls(*args)

    return Func(cls.__name__, make, kwargs=frozenset(), cls=cls)


_NONE = frozenset[str]()
_DECORATORS = ("staticmethod", "classmethod", "property")
TYPE_BUILTINS: dict[str, Any] = {
    "type": Func("type", _type, kwargs=_NONE, accepts="any", cls=type),
    "isinstance": Func("isinstance", _isinstance, kwargs=_NONE, accepts="any"),
    "issubclass": Func("issubclass", _issubclass, kwargs=_NONE, accepts="any"),
    "str": Func("str", _str, kwargs=_NONE, accepts="any", cls=str),
    "repr": Func("repr", _repr, kwargs=_NONE, accepts="any"),
    "dict": Func("dict", _dict, kwargs=AnyKeywords(), accepts="any", cls=dict),
    "set": Func("set", _set, kwargs=_NONE, accepts="any", cls=set),
    "frozenset": Func("frozenset", _frozenset, kwargs=_NONE, accepts="any", cls=frozenset),
    "getattr": Func("getattr", _getattr, kwargs=_NONE, accepts="any"),
    "hasattr": Func("hasattr", _hasattr, kwargs=_NONE, accepts="any"),
    "callable": Func("callable", _callable, kwargs=_NONE, accepts="any"),
    "id": Func("id", _id, kwargs=_NONE, accepts="any"),
    "hash": Func("hash", _hash, kwargs=_NONE, accepts="any"),
    "divmod": Func("divmod", _divmod, kwargs=_NONE, accepts="any"),
    "pow": Func("pow", _pow, kwargs=_NONE, accepts="any"),
    "format": Func("format", _format, kwargs=_NONE, accepts="any"),
    "chr": Func("chr", _chr, kwargs=_NONE, accepts="any"),
    "ord": Func("ord", ord, kwargs=_NONE, accepts="any"),
    "slice": Func("slice", slice, kwargs=_NONE, accepts="any", cls=slice),
    "super": Func("super", _super, kwargs=_NONE, accepts="any"),
    "object": Func("object", _object, kwargs=_NONE, accepts="any", cls=object),
    "NotImplemented": NotImplemented,
    **{name: Func(name, _decorator_only(name), kwargs=_NONE) for name in _DECORATORS},
    **{cls.__name__: _exception(cls) for cls in EXCEPTION_BASES},
}
_ = ListIterator
