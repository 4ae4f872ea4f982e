"""The program's own classes: real classes (so ``nn.Module`` subclasses are real modules),
whose behaviour the interpreter keeps in its hands.

- Bases come from a short list (``nn.Module``, ``torch.autograd.Function``, ``Dataset``,
  ``Exception`` and its usual subclasses, ``object``, the program's own classes): no
  metaclass, nothing that runs program code when the class is made.
- The real class gets the program's plain methods and attributes only. The dunders the
  program defines (``__init__``, ``__add__``, ``__repr__``, ``__getitem__``…) stay in
  ``ClassInfo.dunders``, out of CPython's reach: the interpreter dispatches them itself,
  so no C code calls program code behind the budget's back.
- A program class may not redefine what its host base already has (``_call_impl``,
  ``parameters``, ``apply``…) except the hooks it is meant to fill (``forward``…).
- Classes are registered in their run's state: the next program never sees them.
"""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils import data as torch_data

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget
from gradtrace.run.functions import DESCRIPTORS, BoundMethod, ProgramFunction

# Host classes a program class may extend, and the members it may define over theirs.
EXCEPTION_BASES: tuple[type[BaseException], ...] = (
    Exception, ValueError, TypeError, RuntimeError, KeyError, IndexError, ZeroDivisionError,
    AssertionError, NotImplementedError, ArithmeticError, LookupError, AttributeError, NameError,
    OverflowError, StopIteration,
)  # fmt: skip
OVERRIDABLE: dict[type, frozenset[str]] = {
    object: frozenset(),
    nn.Module: frozenset({"forward", "extra_repr", "reset_parameters"}),
    torch.autograd.Function: frozenset({"forward", "backward"}),
    torch_data.Dataset: frozenset(),
    **{cls: frozenset() for cls in EXCEPTION_BASES},
}


@dataclass(eq=False)
class ClassInfo:
    """What the interpreter knows of one program class."""

    cls: type
    name: str
    dunders: dict[str, Any] = field(default_factory=dict)  # defined by the class itself
    host: type = object  # the one host base of its hierarchy

    def find_dunder(self, name: str) -> Any:
        """The class's own dunder, else its program bases' (in MRO order)."""
        classes = budget.state().classes
        for klass in self.cls.__mro__:
            info = classes.get(klass)
            if info is not None and name in info.dunders:
                return info.dunders[name]
        return None


def _refuse(code: str, **params: Any) -> GradtraceError:
    return GradtraceError("not_allowed", code, params)


def host_base(bases: tuple[type, ...]) -> type:
    """The single host class under the program's hierarchy (refusing any other base)."""
    classes = budget.state().classes
    hosts = set()
    for base in bases:
        if base in classes:
            hosts.add(classes[base].host)
        elif base in OVERRIDABLE:
            hosts.add(base)
        else:
            raise _refuse("base_not_allowed", what=getattr(base, "__name__", type(base).__name__))
    hosts.discard(object)
    if len(hosts) > 1:
        raise _refuse("base_not_allowed", what=" and ".join(sorted(h.__name__ for h in hosts)))
    return hosts.pop() if hosts else object


def make_class(name: str, bases: tuple[type, ...], namespace: dict[str, Any], qualname: str) -> type:
    """Create the real class; its dunders go to the run's side table, not to the class."""
    host = host_base(bases)
    reserved = _reserved(host)
    plain: dict[str, Any] = {}
    dunders: dict[str, Any] = {}
    for key, value in namespace.items():
        if key.startswith("__") and key.endswith("__"):
            dunders[key] = value
        elif key in reserved:
            raise _refuse("member_not_allowed", name=key, base=host.__name__)
        else:
            plain[key] = value
    plain["__module__"] = "__main__"
    plain["__qualname__"] = qualname
    if host is torch.autograd.Function:
        _check_function_methods(name, plain)
    cls = types.new_class(name, bases or (object,), exec_body=lambda ns: ns.update(plain))
    info = ClassInfo(cls, name, dunders, host)
    budget.state().classes[cls] = info
    for value in namespace.values():
        function = value if isinstance(value, ProgramFunction) else getattr(value, "function", None)
        if isinstance(value, DESCRIPTORS) and isinstance(function, ProgramFunction):
            function.owner = cls
    return cls


@functools.cache
def _reserved(host: type) -> frozenset[str]:
    """What the host base already defines (methods, attributes) and the program may not replace."""
    names = set(dir(host))
    if host is nn.Module:
        names |= set(vars(nn.Module()))  # _parameters, _modules, training...
    return frozenset(names - OVERRIDABLE[host])


def _check_function_methods(name: str, plain: dict[str, Any]) -> None:
    """``torch.autograd.Function`` calls ``forward``/``backward`` on the class: they must be static."""
    from gradtrace.run.functions import StaticMethod

    for method in ("forward", "backward"):
        if method in plain and not isinstance(plain[method], StaticMethod):
            raise _refuse(
                "member_not_allowed", name=f"{name}.{method} without @staticmethod", base="Function"
            )


def info_of(value: object) -> ClassInfo | None:
    """The ClassInfo of a program object's class (by exact type: ``__class__`` cannot lie)."""
    state = budget.current()
    return None if state is None else state.classes.get(type(value))


def class_info(value: object) -> ClassInfo | None:
    """The ClassInfo when ``value`` is itself a program class."""
    state = budget.current()
    return state.classes.get(value) if state is not None and isinstance(value, type) else None


def dunder(value: object, name: str) -> Any:
    """The program-defined dunder ``name`` of ``value``, bound to it; None when it has none."""
    info = info_of(value)
    if info is None:
        return None
    function = info.find_dunder(name)
    if function is None:
        return None
    return BoundMethod(function, value) if isinstance(function, ProgramFunction) else None


def instantiate(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``Net(...)``: a bare instance, then the program's ``__init__`` (or the host base's)."""
    info = budget.state().classes[cls]
    if info.host is torch.autograd.Function:
        raise _refuse("call_not_allowed", what=f"{info.name}(); call {info.name}.apply(...)")
    obj = cls.__new__(cls, *args) if issubclass(cls, BaseException) else object.__new__(cls)
    init = info.find_dunder("__init__")
    if init is not None:
        result = init(obj, *args, **kwargs)
        if result is not None:
            raise GradtraceError(
                "runtime", "python_error", {"kind": "TypeError", "detail": "__init__() should return None"}
            )
    else:
        host_init(info.host, obj, args, kwargs)
    return obj


def host_init(host: type, obj: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """The host base's ``__init__`` (``super().__init__()``), with what it takes."""
    if host is nn.Module:
        if args or kwargs:
            raise GradtraceError(
                "runtime",
                "python_error",
                {"kind": "TypeError", "detail": "Module.__init__() takes no arguments"},
            )
        nn.Module.__init__(obj)  # type: ignore[arg-type]
    elif issubclass(host, BaseException):
        if kwargs:
            raise GradtraceError(
                "runtime",
                "python_error",
                {"kind": "TypeError", "detail": "exceptions take no keyword arguments"},
            )
        BaseException.__init__(obj, *args)  # type: ignore[arg-type]
    elif args or kwargs:
        raise GradtraceError(
            "runtime",
            "python_error",
            {"kind": "TypeError", "detail": f"{host.__name__}() takes no arguments"},
        )


class Super:
    """``super()`` / ``super(Class, self)``: the next class in ``self``'s MRO after ``start``."""

    __slots__ = ("start", "target")

    def __init__(self, start: type, target: object) -> None:
        self.start = start
        self.target = target

    def __repr__(self) -> str:
        return f"<super: {self.start.__name__}>"

    def lookup(self, name: str) -> Any:
        """A program base's member or dunder; a host base's ``__init__``; else None."""
        classes = budget.state().classes
        mro = type(self.target).__mro__ if not isinstance(self.target, type) else self.target.__mro__
        after = mro[mro.index(self.start) + 1 :] if self.start in mro else ()
        for klass in after:
            info = classes.get(klass)
            if info is None:
                break
            if name in info.dunders:
                return _bind(info.dunders[name], self.target)
            if name in vars(klass):
                return _bind(vars(klass)[name], self.target)
        if name == "__init__":
            host = classes[self.start].host if self.start in classes else object
            return HostInit(host, self.target)
        return None


def _bind(value: Any, target: object) -> Any:
    """A class member read from an instance (bound to it) or from the class itself (``cls.attr``)."""
    if isinstance(value, DESCRIPTORS):
        if isinstance(target, type):
            return value.__get__(None, target)
        return value.__get__(target, type(target))
    return value


class HostInit:
    """``super().__init__(...)`` reaching a host base: callable once, with checked arguments."""

    __slots__ = ("host", "target")

    def __init__(self, host: type, target: object) -> None:
        self.host = host
        self.target = target

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        host_init(self.host, self.target, args, kwargs)

    def __repr__(self) -> str:
        return f"<method {self.host.__name__}.__init__>"


def reserved_attribute(value: object, name: str) -> bool:
    """Instance attributes a program may not set or read on its objects: its host base's internals."""
    info = info_of(value)
    host = info.host if info is not None else object
    return name.startswith("__") or name in _reserved(host)
