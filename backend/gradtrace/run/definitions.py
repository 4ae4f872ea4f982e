# mypy: disable-error-code="misc"
# (the mixins annotate `self` as the Interpreter they are mixed into)
"""``def``, ``lambda``, ``class``, ``return``, ``yield`` and ``super()``: the interpreter's half.

A call of a program function charges its depth and a step before its body runs,
binds the arguments by Python's rules into a fresh ``Scope`` that closes over the
scope where the function was defined, and runs the body node by node like any
other code (spans included: an op inside a method links to its line).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import torch

from gradtrace.core.errors import GradtraceError, Span
from gradtrace.run.classes import Super, class_info, info_of, make_class
from gradtrace.run.functions import (
    ClassMethod,
    ProgramFunction,
    Property,
    Return,
    Scope,
    StaticMethod,
    bind_arguments,
    is_generator,
    local_names,
)
from gradtrace.run.iterators import ListIterator
from gradtrace.sandbox import check_sequence

if TYPE_CHECKING:
    from gradtrace.run.interpreter import Interpreter

_DECORATORS = {"staticmethod": StaticMethod, "classmethod": ClassMethod, "property": Property}


class Definitions:
    """Mixed into ``Interpreter``."""

    def definition_statements(self: Interpreter) -> dict[type[ast.AST], Any]:
        self._locals: dict[int, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {}
        self._generators: dict[int, bool] = {}
        return {ast.FunctionDef: self._functiondef, ast.ClassDef: self._classdef, ast.Return: self._return}

    def definition_expressions(self: Interpreter) -> dict[type[ast.AST], Any]:
        return {ast.Lambda: self._lambda, ast.Yield: self._yield}

    # ----- making functions -----
    def _make_function(self: Interpreter, node: ast.FunctionDef | ast.Lambda, name: str) -> ProgramFunction:
        spec = node.args
        defaults = [self.eval(d) for d in spec.defaults]
        kw_defaults = {
            a.arg: self.eval(d) for a, d in zip(spec.kwonlyargs, spec.kw_defaults, strict=True) if d
        }
        closure = self.scope
        while closure is not None and closure.kind == "class":  # methods do not see the class body
            closure = closure.parent
        return ProgramFunction(node, self, closure, defaults, kw_defaults, self._qualname(name))

    def _qualname(self: Interpreter, name: str) -> str:
        scope = self.scope
        if scope is None:
            return name
        if scope.kind == "class" and scope.function is None:
            return f"{scope.vars.get('__qualname__', '?')}.{name}"
        return name

    def _functiondef(self: Interpreter, stmt: ast.FunctionDef) -> None:
        value: Any = self._make_function(stmt, stmt.name)
        for decorator in reversed(stmt.decorator_list):
            value = self._decorate(decorator, value)
        self.bind(ast.Name(id=stmt.name, ctx=ast.Store()), value, self.program.span(stmt))

    def _decorate(self: Interpreter, decorator: ast.expr, function: Any) -> Any:
        """The short list ``check`` allowed: the three descriptors, and ``@torch.no_grad()``."""
        if isinstance(decorator, ast.Name):
            if not isinstance(function, ProgramFunction):
                raise GradtraceError("not_allowed", "decorator_not_allowed", {"what": decorator.id})
            return _DECORATORS[decorator.id](function)
        if isinstance(function, ProgramFunction):
            function.no_grad = True
            return function
        raise GradtraceError("not_allowed", "decorator_not_allowed", {"what": "torch.no_grad()"})

    def _lambda(self: Interpreter, node: ast.Lambda) -> ProgramFunction:
        return self._make_function(node, "<lambda>")

    # ----- calling them -----
    def call_function(
        self: Interpreter, function: ProgramFunction, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        self.budget.enter_call(function.qualname)
        outer = self.scope
        observer = self.run.observer if _grouped(function) else None
        if observer is not None:
            observer.function_entered(function.qualname)
        try:
            scope = self._call_scope(function)
            scope.vars.update(bind_arguments(function, args, kwargs))
            self.scope = scope
            if function.no_grad:
                with torch.no_grad():
                    return self._run_body(function, scope)
            return self._run_body(function, scope)
        finally:
            self.scope = outer
            self.budget.calls -= 1
            if observer is not None:
                observer.function_exited()

    def _call_scope(self: Interpreter, function: ProgramFunction) -> Scope:
        key = id(function.node)
        declared = self._locals.get(key)
        if declared is None:
            declared = self._locals[key] = local_names(function.node)
        locals_, declared_global, declared_nonlocal = declared
        return Scope("function", function.closure, function, locals_, declared_global, declared_nonlocal)

    def _run_body(self: Interpreter, function: ProgramFunction, scope: Scope) -> Any:
        node = function.node
        if isinstance(node, ast.Lambda):
            return self.eval(node.body)
        key = id(node)
        generator = self._generators.get(key)
        if generator is None:
            generator = self._generators[key] = is_generator(node)
        if generator:
            scope.vars[_YIELDED] = []
        try:
            self.block(node.body)
            result = None
        except Return as returned:
            result = returned.value
        if generator:
            return ListIterator(scope.vars[_YIELDED], "generator")
        return result

    def _return(self: Interpreter, stmt: ast.Return) -> None:
        raise Return(None if stmt.value is None else self.eval(stmt.value))

    def _yield(self: Interpreter, node: ast.Yield) -> None:
        """Generators run to the end at once: each ``yield`` adds an item (``check`` keeps it in defs)."""
        scope = self.scope
        while scope is not None and _YIELDED not in scope.vars:
            scope = scope.parent
        if scope is None:
            raise GradtraceError("syntax", "syntax_error", {"reason": "'yield' outside function"})
        items = scope.vars[_YIELDED]
        items.append(None if node.value is None else self.eval(node.value))
        check_sequence(len(items), self.budget.limits)

    # ----- classes -----
    def _classdef(self: Interpreter, stmt: ast.ClassDef) -> None:
        bases = tuple(self._base(self.eval(base)) for base in stmt.bases)
        qualname = self._qualname(stmt.name)
        scope = Scope("class", self.scope)
        scope.vars["__qualname__"] = qualname
        outer = self.scope
        self.scope = scope
        try:
            self.block(stmt.body)
        finally:
            self.scope = outer
        namespace = {k: v for k, v in scope.vars.items() if k != "__qualname__"}
        cls = make_class(stmt.name, bases, namespace, qualname)
        self.bind(ast.Name(id=stmt.name, ctx=ast.Store()), cls, self.program.span(stmt))

    def _base(self: Interpreter, value: Any) -> type:
        """``nn.Module`` and the other facades stand for their class; program classes are classes."""
        cls = getattr(value, "cls", None) if not isinstance(value, type) else value
        if not isinstance(cls, type):
            raise GradtraceError("not_allowed", "base_not_allowed", {"what": type(value).__name__})
        return cls

    def make_super(self: Interpreter, args: tuple[Any, ...]) -> Super:
        """``super()`` in a method (its class and first argument), or ``super(Class, obj)``."""
        if len(args) == 2:
            start, target = self._base(args[0]), args[1]
        elif not args:
            start, target = self._implicit_super()
        else:
            raise GradtraceError(
                "runtime", "python_error", {"kind": "TypeError", "detail": "super() takes 0 or 2 arguments"}
            )
        if class_info(start) is None or not _super_target(start, target):
            detail = "super(type, obj): obj must be an instance or subtype of type"
            raise GradtraceError("runtime", "python_error", {"kind": "TypeError", "detail": detail})
        return Super(start, target)

    def _implicit_super(self: Interpreter) -> tuple[type, Any]:
        scope = self.scope
        while scope is not None and scope.kind != "function":
            scope = scope.parent
        function = scope.function if scope is not None else None
        if function is None or function.owner is None or isinstance(function.node, ast.Lambda):
            raise GradtraceError(
                "runtime",
                "python_error",
                {"kind": "RuntimeError", "detail": "super(): no arguments outside a method"},
            )
        spec = function.node.args
        params = [*spec.posonlyargs, *spec.args]
        first = params[0] if params else None
        if scope is None or first is None or first.arg not in scope.vars:
            raise GradtraceError(
                "runtime", "python_error", {"kind": "RuntimeError", "detail": "super(): no arguments"}
            )
        return function.owner, scope.vars[first.arg]

    # ----- names in scopes -----
    def _bind_local(self: Interpreter, scope: Scope, name: str, value: object) -> None:
        if name in scope.declared_nonlocal:
            target = scope.parent
            while target is not None and not (target.kind == "function" and name in target.locals_):
                target = target.parent
            if target is None:
                raise GradtraceError(
                    "syntax", "syntax_error", {"reason": f"no binding for nonlocal '{name}' found"}
                )
            target.vars[name] = value
            return
        scope.vars[name] = value


def _super_target(start: type, target: Any) -> bool:
    if isinstance(target, type):
        return issubclass(target, start)
    return isinstance(target, start) and info_of(target) is not None


def _grouped(function: ProgramFunction) -> bool:
    """Group a call's ops under its name, but for ``forward`` (its module groups them) and lambdas."""
    if function.name == "<lambda>":
        return False
    return not (
        function.name == "forward"
        and function.owner is not None
        and issubclass(function.owner, torch.nn.Module)
    )


_YIELDED = " yielded"  # a key no program name can be
_ = Span  # re-exported type used in annotations elsewhere
