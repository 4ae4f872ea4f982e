"""The program's own functions: values the interpreter owns, never real Python functions.

A ``def`` or ``lambda`` becomes a ``ProgramFunction``: its tree, its defaults and the
scope it closes over. It has no ``__globals__``, ``__code__`` or frames to reach, and
calling it (from the program, from a builtin such as ``map``, or from torch calling
``forward``/``backward``/a hook) always re-enters the interpreter of its own run, with
that run's budget and spans. Outside that run, or after a limit ended it, it refuses.
"""

from __future__ import annotations

import ast
from typing import Any, Protocol

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget


class Signal(Exception):
    """Control flow inside the interpreter (return, break, continue): never a program error."""


class Return(Signal):
    def __init__(self, value: object) -> None:
        self.value = value


class Break(Signal):
    pass


class Continue(Signal):
    pass


class ProgramRaise(Exception):
    """An exception the program raised (or caught and re-raised), carried as a value.

    Whatever its class (even a ``KeyboardInterrupt`` look-alike), it travels as this
    host type, so the worker's shutdown paths can never mistake it for their own.
    """

    def __init__(self, value: BaseException) -> None:
        super().__init__(value)
        self.value = value
        self.span: Any = None  # where it was raised (the first statement it left)


class Scope:
    """One function call's (or class body's, or comprehension's) own names."""

    __slots__ = ("declared_global", "declared_nonlocal", "function", "kind", "locals_", "parent", "vars")

    def __init__(
        self,
        kind: str,
        parent: Scope | None,
        function: ProgramFunction | None = None,
        locals_: frozenset[str] = frozenset(),
        declared_global: frozenset[str] = frozenset(),
        declared_nonlocal: frozenset[str] = frozenset(),
    ) -> None:
        self.kind = kind  # "function", "class" or "comprehension"
        self.parent = parent
        self.function = function
        self.vars: dict[str, Any] = {}
        self.locals_ = locals_
        self.declared_global = declared_global
        self.declared_nonlocal = declared_nonlocal


class Runner(Protocol):
    """What a function needs from the interpreter that made it."""

    run: budget.RunState

    def call_function(
        self, function: ProgramFunction, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any: ...


class ProgramFunction:
    """A ``def`` or ``lambda`` of the program. ``__get__`` makes it a method in a class."""

    __slots__ = (
        "closure",
        "defaults",
        "kw_defaults",
        "name",
        "no_grad",
        "node",
        "owner",
        "qualname",
        "runner",
    )

    def __init__(
        self,
        node: ast.FunctionDef | ast.Lambda,
        runner: Runner,
        closure: Scope | None,
        defaults: list[Any],
        kw_defaults: dict[str, Any],
        qualname: str,
    ) -> None:
        self.node = node
        self.runner = runner
        self.closure = closure
        self.defaults = defaults
        self.kw_defaults = kw_defaults
        self.name = node.name if isinstance(node, ast.FunctionDef) else "<lambda>"
        self.qualname = qualname
        self.owner: type | None = None  # the class whose body defined it (for super())
        self.no_grad = False  # @torch.no_grad()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        run = budget.current()
        if run is not self.runner.run or not run.active or run.budget.exhausted:
            raise GradtraceError("not_allowed", "program_code_after_run", {"name": self.qualname})
        return self.runner.call_function(self, args, kwargs)

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self if instance is None else BoundMethod(self, instance)

    def __repr__(self) -> str:
        return f"<function {self.qualname}>"


class BoundMethod:
    """``obj.method``: the function with its first argument filled in."""

    __slots__ = ("function", "target")

    def __init__(self, function: ProgramFunction, target: object) -> None:
        self.function = function
        self.target = target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(self.target, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<bound method {self.function.qualname}>"


class StaticMethod:
    """``@staticmethod`` (torch's ``Function.apply`` reads ``forward``/``backward`` through it)."""

    __slots__ = ("function",)

    def __init__(self, function: ProgramFunction) -> None:
        self.function = function

    def __get__(self, instance: object, owner: type | None = None) -> ProgramFunction:
        return self.function


class ClassMethod:
    __slots__ = ("function",)

    def __init__(self, function: ProgramFunction) -> None:
        self.function = function

    def __get__(self, instance: object, owner: type | None = None) -> BoundMethod:
        return BoundMethod(self.function, owner if owner is not None else type(instance))


class Property:
    """``@property``: read-only, computed by the program's function when read."""

    __slots__ = ("function",)

    def __init__(self, function: ProgramFunction) -> None:
        self.function = function

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self if instance is None else self.function(instance)


PROGRAM_CALLABLES = (ProgramFunction, BoundMethod)
DESCRIPTORS = (ProgramFunction, StaticMethod, ClassMethod, Property)


def bind_arguments(
    function: ProgramFunction, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Python's rules for filling parameters, as TypeErrors the program can read."""
    spec = function.node.args
    positional = [a.arg for a in (*spec.posonlyargs, *spec.args)]
    bound: dict[str, Any] = {}
    extra = _fill_positional(function, positional, args, bound)
    extra_kwargs = _fill_keywords(function, spec, positional, kwargs, bound)
    _fill_defaults(function, positional, spec, bound)
    if spec.vararg is not None:
        bound[spec.vararg.arg] = tuple(extra)
    elif extra:
        raise _type_error(
            f"{function.name}() takes {len(positional)} positional arguments but {len(args)} were given"
        )
    if spec.kwarg is not None:
        bound[spec.kwarg.arg] = extra_kwargs
    elif extra_kwargs:
        raise _type_error(
            f"{function.name}() got an unexpected keyword argument '{next(iter(extra_kwargs))}'"
        )
    return bound


def _fill_positional(
    function: ProgramFunction, names: list[str], args: tuple[Any, ...], bound: dict[str, Any]
) -> list[Any]:
    for name, value in zip(names, args, strict=False):
        bound[name] = value
    return list(args[len(names) :])


def _fill_keywords(
    function: ProgramFunction, spec: ast.arguments, positional: list[str], kwargs: dict[str, Any],
    bound: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    accepted = {*positional[len(spec.posonlyargs) :], *(a.arg for a in spec.kwonlyargs)}
    extra: dict[str, Any] = {}
    for name, value in kwargs.items():
        if name not in accepted:
            extra[name] = value
        elif name in bound:
            raise _type_error(f"{function.name}() got multiple values for argument '{name}'")
        else:
            bound[name] = value
    return extra


def _fill_defaults(
    function: ProgramFunction, positional: list[str], spec: ast.arguments, bound: dict[str, Any]
) -> None:
    first_default = len(positional) - len(function.defaults)
    for index, name in enumerate(positional):
        if name in bound:
            continue
        if index < first_default:
            raise _type_error(f"{function.name}() missing required argument: '{name}'")
        bound[name] = function.defaults[index - first_default]
    for arg in spec.kwonlyargs:
        if arg.arg not in bound:
            if arg.arg not in function.kw_defaults:
                raise _type_error(f"{function.name}() missing required keyword-only argument: '{arg.arg}'")
            bound[arg.arg] = function.kw_defaults[arg.arg]


def _type_error(detail: str) -> GradtraceError:
    return GradtraceError("runtime", "python_error", {"kind": "TypeError", "detail": detail}, detail=detail)


def local_names(node: ast.FunctionDef | ast.Lambda) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The names a function binds (its locals), and those it declares global and nonlocal.

    Nested functions, classes, lambdas and comprehensions have scopes of their own.
    """
    spec = node.args
    params = [a.arg for a in (*spec.posonlyargs, *spec.args, *spec.kwonlyargs)]
    params += [a.arg for a in (spec.vararg, spec.kwarg) if a is not None]
    stored: set[str] = set(params)
    declared_global: set[str] = set()
    declared_nonlocal: set[str] = set()
    body: list[ast.AST] = list(node.body) if isinstance(node, ast.FunctionDef) else [node.body]
    stack = body
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Global):
            declared_global.update(item.names)
        elif isinstance(item, ast.Nonlocal):
            declared_nonlocal.update(item.names)
        stored.update(_bound_here(item))
        if not isinstance(item, _OWN_SCOPES):
            stack.extend(ast.iter_child_nodes(item))
    locals_ = frozenset(stored - declared_global - declared_nonlocal)
    return locals_, frozenset(declared_global), frozenset(declared_nonlocal)


_OWN_SCOPES = (
    ast.FunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def _bound_here(item: ast.AST) -> list[str]:
    if isinstance(item, ast.Name) and isinstance(item.ctx, ast.Store | ast.Del):
        return [item.id]
    if isinstance(item, ast.FunctionDef | ast.ClassDef):
        return [item.name]
    if isinstance(item, ast.ExceptHandler) and item.name:
        return [item.name]
    if isinstance(item, ast.alias):
        return [item.asname or item.name.split(".")[0]]
    return []


def is_generator(node: ast.FunctionDef | ast.Lambda) -> bool:
    """A ``def`` whose own body yields (the program gets its values as a finished iterator)."""
    stack: list[ast.AST] = list(node.body) if isinstance(node, ast.FunctionDef) else [node.body]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Yield):
            return True
        if not isinstance(item, _OWN_SCOPES):
            stack.extend(ast.iter_child_nodes(item))
    return False
