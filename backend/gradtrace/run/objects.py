"""Attributes of the program's own objects: its instances, its classes, ``super()``, a Function's ``ctx``.

The program may read and write what it stored itself and what its classes define;
its host base's internals (``_parameters``, ``_call_impl``…) stay closed, like every
dunder. ``program_attribute`` answers ``MISSING`` for values that are not the
program's own, and the policy goes on with its tables.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget, namedtuples
from gradtrace.run.classes import (
    EXCEPTION_BASES,
    ClassInfo,
    HostInit,
    Super,
    _bind,
    class_info,
    info_of,
    reserved_attribute,
)
from gradtrace.run.functions import BoundMethod, ProgramFunction
from gradtrace.run.values import INERT_CALL, Func, Inert

MISSING = object()
EXCEPTION_TYPES: frozenset[type] = frozenset(EXCEPTION_BASES)


class DefaultDict(dict):
    """``collections.defaultdict`` whose factory is called through the sandbox's own call check."""

    def __init__(self, factory: Any = None, *args: Any) -> None:
        super().__init__(*args)
        self.factory = factory

    def __missing__(self, key: Any) -> Any:
        if self.factory is None:
            raise KeyError(key)
        from gradtrace.run.calls import call

        value = self[key] = call(self.factory, (), {})
        return value

    def __repr__(self) -> str:
        return f"defaultdict({self.factory!r}, {dict.__repr__(self)})"


def _attribute_error(owner: str, name: str) -> GradtraceError:
    detail = f"'{owner}' object has no attribute '{name}'"
    return GradtraceError(
        "runtime", "python_error", {"kind": "AttributeError", "detail": detail}, detail=detail
    )


def name_of(value: object) -> Any:
    """``f.__name__``, ``type(x).__name__``, ``self.__class__``-free naming."""
    if isinstance(value, ProgramFunction):
        return value.name
    if isinstance(value, BoundMethod):
        return value.function.name
    if isinstance(value, Func):
        return value.name.rsplit(".", 1)[-1]
    if isinstance(value, type):
        return value.__name__
    from gradtrace.run.builtins_types import TypeName

    if isinstance(value, TypeName):
        return value.cls.__name__
    return MISSING


def program_attribute(value: object, name: str) -> Any:
    if name == "__name__":
        found = name_of(value)
        if found is MISSING:
            raise _attribute_error(type(value).__name__, name)
        return found
    if isinstance(value, Super):
        return _super_attribute(value, name)
    info = class_info(value)
    if info is not None:
        return _class_attribute(info, name)
    info = info_of(value)
    if info is not None:
        return _instance_attribute(value, info, name)
    if name == "__init__":
        return _host_init(value)
    if isinstance(value, Inert) and not name.startswith("_"):
        return INERT_CALL
    if namedtuples.is_namedtuple(value) or namedtuples.is_namedtuple_class(value):
        return namedtuples.attribute(value, name)
    if isinstance(value, torch.autograd.function.FunctionCtx) and _own(value, name):
        return vars(value)[name]
    return MISSING


def _own(value: object, name: str) -> bool:
    return not name.startswith("_") and name in getattr(value, "__dict__", {})


def _super_attribute(proxy: Super, name: str) -> Any:
    found = proxy.lookup(name)
    if found is None:
        return (
            MISSING
            if not name.startswith("_") and isinstance(proxy.target, nn.Module)
            else _missing(proxy, name)
        )
    return found


def _missing(value: object, name: str) -> Any:
    raise _attribute_error(type(value).__name__, name)


def _class_attribute(info: ClassInfo, name: str) -> Any:
    classes = budget.state().classes
    for klass in info.cls.__mro__:
        owner = classes.get(klass)
        if owner is None:
            break
        if name in owner.dunders:
            return owner.dunders[name]
        if name in vars(klass):
            return _bind(vars(klass)[name], info.cls)
    if info.host is torch.autograd.Function and name == "apply":
        return FunctionApply(info.cls)
    raise _attribute_error(f"type object '{info.name}'", name)


def _instance_attribute(value: object, info: ClassInfo, name: str) -> Any:
    if name == "__init__":
        init = info.find_dunder("__init__")
        return BoundMethod(init, value) if isinstance(init, ProgramFunction) else HostInit(info.host, value)
    if info.host is nn.Module and name == "_modules":
        return vars(value)["_modules"]  # d2l's MySequential fills it: names to modules, nothing more
    if reserved_attribute(value, name):
        if info.host is nn.Module and not name.startswith("_"):
            return MISSING  # parameters(), training, zero_grad…: the module policy decides
        if issubclass(info.host, BaseException) and name == "args":
            return value.args  # type: ignore[attr-defined]
        raise GradtraceError("not_allowed", "private_name", {"name": name})
    if _stored(value, name):
        return getattr(value, name)
    classes = budget.state().classes
    for klass in type(value).__mro__:
        if klass not in classes:
            break
        if name in vars(klass):
            return _bind(vars(klass)[name], value)
    if info.host is nn.Module and not name.startswith("_"):
        return MISSING
    raise _attribute_error(info.name, name)


def _stored(value: object, name: str) -> bool:
    """What the program stored on its object (a module keeps parameters and children apart)."""
    if isinstance(value, nn.Module):
        for table in ("_parameters", "_buffers", "_modules"):
            if name in vars(value)[table]:
                return True
    return name in getattr(value, "__dict__", {})


def _host_init(value: object) -> Any:
    """``nn.Module.__init__(self)``: the old spelling of ``super().__init__()``."""
    if isinstance(value, Func) and isinstance(value.cls, type) and value.cls in (nn.Module, object):
        return HostClassInit(value.cls)
    return MISSING


class HostClassInit:
    """``nn.Module.__init__`` read from the class: called with the program's own instance."""

    __slots__ = ("host",)

    def __init__(self, host: type) -> None:
        self.host = host

    def __call__(self, target: object, *args: Any, **kwargs: Any) -> None:
        info = info_of(target)
        if info is None or not issubclass(type(target), self.host):
            raise GradtraceError(
                "not_allowed", "call_not_allowed", {"what": f"{self.host.__name__}.__init__"}
            )
        HostInit(info.host, target)(*args, **kwargs)


class FunctionApply:
    """``MyFunction.apply(...)``: torch's own ``apply``, with tensors and numbers only."""

    __slots__ = ("cls",)

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from gradtrace.run.calls import check_values

        if kwargs:
            raise GradtraceError(
                "not_allowed", "kwarg_not_allowed", {"name": next(iter(kwargs)), "func": "apply"}
            )
        check_values(f"{self.cls.__name__}.apply", args, {}, modules=False)
        return self.cls.apply(*args)  # type: ignore[attr-defined]


def set_program_attribute(target: object, name: str, value: object) -> bool:
    """Set on the program's own instance, class or a Function's ``ctx``; False when not one."""
    if name.startswith("__"):
        raise GradtraceError("not_allowed", "private_name", {"name": name})
    info = class_info(target)
    if info is not None:
        if (name in vars(target) and name in info.dunders) or reserved_attribute(object(), name):
            raise GradtraceError("not_allowed", "assign_not_allowed", {"attr": name})
        setattr(target, name, value)
        return True
    if info_of(target) is not None:
        if name == "training" and isinstance(target, nn.Module) and isinstance(value, bool):
            target.training = value  # d2l's own dropout sets it
            return True
        if reserved_attribute(target, name):
            raise GradtraceError("not_allowed", "assign_not_allowed", {"attr": name})
        setattr(target, name, value)
        return True
    if isinstance(target, torch.autograd.function.FunctionCtx):
        if name.startswith("_") or hasattr(type(target), name):
            raise GradtraceError("not_allowed", "assign_not_allowed", {"attr": name})
        setattr(target, name, value)
        return True
    return False


def delete_program_attribute(target: object, name: str) -> bool:
    if name.startswith("__") or (info_of(target) is None and class_info(target) is None):
        return False
    if reserved_attribute(target, name) or (not _stored(target, name) and class_info(target) is None):
        return False
    delattr(target, name)
    return True
