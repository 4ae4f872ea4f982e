"""The tree-walking interpreter: one method per allowed statement and expression.

Every expression charges one step; op-like expressions (calls, operators,
subscripts, attributes) set ``current_span`` while they run, so the tracer
can tie each torch op to its text. Python recursion here is bounded by the
nesting depth that ``check`` already enforced.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from gradtrace.core.errors import GradtraceError, Span
from gradtrace.run import budget, dispatch, operators
from gradtrace.run.builtins import BUILTINS, SUPER, sized
from gradtrace.run.calls import call
from gradtrace.run.definitions import Definitions
from gradtrace.run.explain import explain
from gradtrace.run.facades import FACADES, IMPORT_ONLY
from gradtrace.run.flow import Flow
from gradtrace.run.functions import Break, Continue, ProgramRaise, Scope, Signal
from gradtrace.run.indexing import get_item, set_item
from gradtrace.run.iterators import ListIterator
from gradtrace.run.policy import get_attribute, set_attribute
from gradtrace.run.shapes import check_printable, range_length
from gradtrace.run.spans import current_span
from gradtrace.run.steps import minimum_steps
from gradtrace.run.strings import percent_format
from gradtrace.sandbox import Program, check_sequence
from gradtrace.sandbox.rules import IMPORTABLE

_CONTEXTS = (torch.no_grad, torch.enable_grad, torch.inference_mode, torch.set_grad_enabled)
_ITERABLE = (
    list, tuple, range, str, torch.Size, torch.Tensor, np.ndarray, torch.nn.Sequential, dict, set, frozenset,
    ListIterator,
)  # fmt: skip
# Expressions that may run torch ops: they publish their span while evaluated.
_OP_NODES = frozenset(
    {ast.Call, ast.BinOp, ast.UnaryOp, ast.Subscript, ast.Compare, ast.BoolOp, ast.Attribute}
)


class Interpreter(Definitions, Flow):
    def __init__(self, program: Program, run: budget.RunState, presets: dict[str, object]):
        self.program = program
        self.run = run
        self.budget = run.budget
        self.names: dict[str, object] = dict(presets)
        self.user_names: dict[str, int] = {}  # name -> order of its last binding
        self.spans: dict[str, Span] = {}
        self.scope: Scope | None = None  # None: the module's own names (``self.names``)
        self._counter = 0
        self._minimum_steps: dict[ast.For | ast.While, int] = {}
        self._jumping: set[ast.For] = set()
        self._stmt: dict[type[ast.AST], Callable[[Any], None]] = {
            ast.Expr: self._expr_stmt, ast.Assign: self._assign, ast.AnnAssign: self._ann_assign,
            ast.AugAssign: self._aug_assign, ast.If: self._if, ast.For: self._for, ast.With: self._with,
            ast.Import: self._import, ast.ImportFrom: self._import_from, ast.Pass: self._pass,
            ast.Break: self._break, ast.Continue: self._continue, **self.definition_statements(),
            **self.flow_statements(),
        }  # fmt: skip
        self._expr: dict[type[ast.AST], Callable[[Any], Any]] = {
            ast.Constant: self._constant, ast.Name: self._name, ast.List: self._list, ast.Tuple: self._tuple,
            ast.BinOp: self._binop, ast.UnaryOp: self._unaryop, ast.BoolOp: self._boolop,
            ast.Compare: self._compare, ast.Call: self._call, ast.Attribute: self._attribute,
            ast.Subscript: self._subscript, ast.IfExp: self._ifexp, ast.JoinedStr: self._joinedstr,
            ast.ListComp: self._listcomp, ast.SetComp: self._setcomp, ast.DictComp: self._dictcomp,
            ast.GeneratorExp: self._genexp, ast.Dict: self._dict, ast.Set: self._set,
            **self.definition_expressions(),
        }  # fmt: skip

    # ----- statements -----
    def run_program(self) -> None:
        try:
            self.block(self.program.tree.body)
        except ProgramRaise as raised:
            raise uncaught(raised) from None

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.execute(stmt)

    def execute(self, stmt: ast.stmt) -> None:
        self.budget.step()
        try:
            self._stmt[type(stmt)](stmt)
        except Signal:
            raise
        except ProgramRaise as raised:
            if raised.span is None:
                raised.span = self.program.span(stmt)
            raise
        except GradtraceError as error:
            raise error.with_span(self.program.span(stmt)) from None
        except Exception as exc:
            raise explain(exc).with_span(self.program.span(stmt)) from None

    def _expr_stmt(self, stmt: ast.Expr) -> None:
        self.eval(stmt.value)

    def _assign(self, stmt: ast.Assign) -> None:
        value = self.eval(stmt.value)
        span = self.program.span(stmt)
        for target in stmt.targets:
            self.bind(target, value, span)

    def _ann_assign(self, stmt: ast.AnnAssign) -> None:
        assert stmt.value is not None  # check refuses annotations without a value
        self.bind(stmt.target, self.eval(stmt.value), self.program.span(stmt))

    def _aug_assign(self, stmt: ast.AugAssign) -> None:
        span = self.program.span(stmt)
        value = self.eval(stmt.value)
        token = current_span.set(span)
        try:
            if isinstance(stmt.target, ast.Name):
                current = self._lookup(stmt.target.id)
                self.bind(stmt.target, self.binary(stmt.op, current, value, inplace=True), span)
            elif isinstance(stmt.target, ast.Attribute):
                owner = self.eval(stmt.target.value)
                current = get_attribute(owner, stmt.target.attr)
                set_attribute(owner, stmt.target.attr, self.binary(stmt.op, current, value, inplace=True))
            else:
                assert isinstance(stmt.target, ast.Subscript)
                container = self.eval(stmt.target.value)
                index = self.eval_index(stmt.target.slice)
                current = get_item(container, index)
                set_item(container, index, self.binary(stmt.op, current, value, inplace=True))
        finally:
            current_span.reset(token)

    def _if(self, stmt: ast.If) -> None:
        self.block(stmt.body if self.truth(self.eval(stmt.test)) else stmt.orelse)

    def _for(self, stmt: ast.For) -> None:
        iterable = self.eval(stmt.iter)
        self._expect(stmt, iterable)
        span = self.program.header_span(stmt, stmt.iter)
        token = current_span.set(self.program.span(stmt.iter))  # rows of a tensor come from here
        try:
            for item in dispatch.iterate(iterable):
                self.budget.loop()
                self.bind(stmt.target, item, span)
                try:
                    self.block(stmt.body)
                except Break:
                    break
                except Continue:
                    continue
            else:
                self.block(stmt.orelse)
        finally:
            current_span.reset(token)

    def _expect(self, stmt: ast.For, iterable: object) -> None:
        """Without break/continue, a loop runs every iteration in full: charge it up front."""
        if stmt in self._jumping or not isinstance(iterable, _ITERABLE):
            return
        minimum = self._minimum_steps.get(stmt)
        if minimum is None:
            if any(isinstance(node, _JUMPS) for node in ast.walk(stmt)):
                self._jumping.add(stmt)
                return
            minimum = self._minimum_steps[stmt] = minimum_steps(stmt.body)
        iterations = range_length(iterable) if isinstance(iterable, range) else len(iterable)
        self.budget.expect(iterations, iterations * minimum)

    def _with(self, stmt: ast.With) -> None:
        managers = [self.eval(item.context_expr) for item in stmt.items]
        for manager in managers:
            if not isinstance(manager, _CONTEXTS):
                raise GradtraceError("not_allowed", "with_not_allowed", {})
        self._with_body(managers, stmt.items, stmt.body)

    def _with_body(self, managers: list[Any], items: list[ast.withitem], body: list[ast.stmt]) -> None:
        if not managers:
            self.block(body)
            return
        with managers[0] as entered:
            if items[0].optional_vars is not None:
                self.bind(items[0].optional_vars, entered, self.program.span(items[0].optional_vars))
            self._with_body(managers[1:], items[1:], body)

    def _import(self, stmt: ast.Import) -> None:
        for alias in stmt.names:
            if alias.asname:
                self._bind_import(alias.asname, _facade(IMPORTABLE[alias.name]))
            else:
                top = alias.name.split(".")[0]
                self._bind_import(top, _facade(IMPORTABLE[top]))
            if alias.name.startswith("matplotlib"):
                self.run.notes.append("plots_not_drawn")

    def _import_from(self, stmt: ast.ImportFrom) -> None:
        module = stmt.module or ""
        if module == "__future__":
            return
        facade = _facade(IMPORTABLE[module])
        for alias in stmt.names:
            full = f"{module}.{alias.name}"
            value = _facade(IMPORTABLE[full]) if full in IMPORTABLE else facade.members.get(alias.name)
            if value is None:
                raise GradtraceError("not_allowed", "import_not_allowed", {"module": full})
            self._bind_import(alias.asname or alias.name, value)

    def _bind_import(self, name: str, value: object) -> None:
        """Imports rebind the curated facades; they are not the program's variables."""
        if self.scope is not None:
            self.scope.vars[name] = value
            return
        self.names[name] = value
        self.user_names.pop(name, None)

    def _pass(self, stmt: ast.Pass) -> None:
        return None

    def _break(self, stmt: ast.Break) -> None:
        raise Break

    def _continue(self, stmt: ast.Continue) -> None:
        raise Continue

    # ----- binding -----
    def bind(self, target: ast.expr, value: object, span: Span | None) -> None:
        if isinstance(target, ast.Name):
            self._bind_name(target.id, value, span)
        elif isinstance(target, ast.Tuple | ast.List):
            for element, item in zip(target.elts, unpack_targets(value, target.elts), strict=True):
                self.bind(element, item, span)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, value, span)
        elif isinstance(target, ast.Subscript):
            container = self.eval(target.value)
            index = self.eval_index(target.slice)
            self._with_span(target, lambda: set_item(container, index, value))
        elif isinstance(target, ast.Attribute):
            owner = self.eval(target.value)
            self._with_span(target, lambda: set_attribute(owner, target.attr, value))
        else:  # check refuses other targets
            raise GradtraceError("not_allowed", "syntax_not_allowed", {"what": type(target).__name__})

    def _bind_name(self, name: str, value: object, span: Span | None) -> None:
        scope = self.scope
        if scope is not None and name not in scope.declared_global:
            self._bind_local(scope, name, value)
            return
        self.names[name] = value
        self._counter += 1
        self.user_names[name] = self._counter
        if span is not None:
            self.spans[name] = span
        observer = self.run.observer
        if observer is not None and span is not None:
            observer.assigned(name, value, span)

    # ----- expressions -----
    def eval(self, node: ast.expr) -> Any:
        """Evaluate one expression; op-like ones publish their span (the hot path: keep it lean)."""
        self.budget.step()
        kind = type(node)
        handler = self._expr.get(kind)
        if handler is None:  # check refuses everything else
            raise GradtraceError("not_allowed", "syntax_not_allowed", {"what": kind.__name__})
        if kind not in _OP_NODES:
            try:
                return handler(node)
            except GradtraceError as error:
                raise error.with_span(self.program.span(node)) from None
        span = self.program.span(node)
        token = current_span.set(span)
        try:
            return handler(node)
        except GradtraceError as error:
            raise error.with_span(span) from None
        except (Signal, ProgramRaise):
            raise
        except Exception as exc:
            raise explain(exc).with_span(span) from None
        finally:
            current_span.reset(token)

    def _with_span(self, node: ast.AST, thunk: Callable[[], Any]) -> Any:
        span = self.program.span(node)
        token = current_span.set(span)
        try:
            return thunk()
        except GradtraceError as error:
            raise error.with_span(span) from None
        except (Signal, ProgramRaise):
            raise
        except Exception as exc:
            raise explain(exc).with_span(span) from None
        finally:
            current_span.reset(token)

    def eval_index(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Slice):
            parts = (node.lower, node.upper, node.step)
            return slice(*(None if part is None else self.eval(part) for part in parts))
        if isinstance(node, ast.Tuple):
            return tuple(self.eval_index(element) for element in node.elts)
        return self.eval(node)

    def _constant(self, node: ast.Constant) -> Any:
        return node.value

    def _name(self, node: ast.Name) -> Any:
        return self._lookup(node.id)

    def _lookup(self, name: str) -> Any:
        scope = self.scope
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            if name in scope.declared_global:
                break
            if name in scope.locals_:
                raise GradtraceError("runtime", "name_undefined", {"name": name})
            scope = scope.parent
        if name in self.names:
            return self.names[name]
        if name in BUILTINS:
            return BUILTINS[name]
        if name == "__name__":
            return "__main__"  # `if __name__ == "__main__":` runs, as it does for a script
        raise GradtraceError("runtime", "name_undefined", {"name": name})

    def _elements(self, nodes: list[ast.expr]) -> list[Any]:
        values: list[Any] = []
        for node in nodes:
            if isinstance(node, ast.Starred):
                value = self.eval(node.value)
                sized(value, "a starred value")
                values.extend(dispatch.iterate(value))
            else:
                values.append(self.eval(node))
            check_sequence(len(values), self.budget.limits)
        return values

    def _list(self, node: ast.List) -> list[Any]:
        return self._elements(node.elts)

    def _tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self._elements(node.elts))

    def truth(self, value: Any) -> bool:
        """``if x:``: the program's ``__bool__``/``__len__`` when its class defines one."""
        if self.run.classes and type(value) in self.run.classes:
            return dispatch.truth(value)
        return bool(value)

    def binary(self, op: ast.operator, left: Any, right: Any, *, inplace: bool = False) -> Any:
        if type(left) is str and isinstance(op, ast.Mod):
            return percent_format(left, right, dispatch.render)
        classes = self.run.classes
        if classes and (type(left) in classes or type(right) in classes):
            return dispatch.binary(op, left, right, inplace=inplace)
        return operators.binary(op, left, right, inplace=inplace)

    def _binop(self, node: ast.BinOp) -> Any:
        left = self.eval(node.left)
        right = self.eval(node.right)
        return self.binary(node.op, left, right)

    def _unaryop(self, node: ast.UnaryOp) -> Any:
        operand = self.eval(node.operand)
        if isinstance(node.op, ast.Not):
            return not self.truth(operand)
        if self.run.classes and type(operand) in self.run.classes:
            return dispatch.unary(node.op, operand)
        return operators.unary(node.op, operand)

    def _boolop(self, node: ast.BoolOp) -> Any:
        value: Any = None
        for operand in node.values:
            value = self.eval(operand)
            if isinstance(node.op, ast.And) and not self.truth(value):
                return value
            if isinstance(node.op, ast.Or) and self.truth(value):
                return value
        return value

    def _compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        result: Any = True
        classes = self.run.classes
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comparator)
            if classes and (type(left) in classes or type(right) in classes):
                result = dispatch.compare(op, left, right)
            else:
                result = operators.compare(op, left, right)
            if len(node.ops) > 1 and not self.truth(result):
                return result
            left = right
        return result

    def _call(self, node: ast.Call) -> Any:
        func = self.eval(node.func)
        args = self._elements(node.args)
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                kwargs.update(keyword_mapping(self.eval(keyword.value)))
            else:
                kwargs[keyword.arg] = self.eval(keyword.value)
        if func is SUPER:
            return self.make_super(tuple(args))
        return call(func, tuple(args), kwargs)

    def _attribute(self, node: ast.Attribute) -> Any:
        return get_attribute(self.eval(node.value), node.attr)

    def _subscript(self, node: ast.Subscript) -> Any:
        container = self.eval(node.value)
        return get_item(container, self.eval_index(node.slice))

    def _ifexp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.truth(self.eval(node.test)) else self.eval(node.orelse)

    def _joinedstr(self, node: ast.JoinedStr) -> str:
        pieces: list[str] = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                pieces.append(str(part.value))
            elif isinstance(part, ast.FormattedValue):
                pieces.append(self._formatted(part))
            check_sequence(sum(len(p) for p in pieces), self.budget.limits)
        return "".join(pieces)

    def _formatted(self, node: ast.FormattedValue) -> str:
        value = self.eval(node.value)
        check_printable(value)
        if node.conversion in (-1, ord("s"), ord("r")) and dispatch.is_program_value(value):
            value = dispatch.to_text(value, "r" if node.conversion == ord("r") else "s")
        if isinstance(value, list | tuple):
            operators.sequence_size(value, "chars")  # str() of shared rows can be huge
        if node.conversion == ord("r"):
            value = repr(value)
        elif node.conversion == ord("a"):
            value = ascii(value)
        elif node.conversion == ord("s"):
            value = str(value)
        spec = ""
        if isinstance(node.format_spec, ast.JoinedStr):  # check allows constant specs only
            spec = "".join(str(p.value) for p in node.format_spec.values if isinstance(p, ast.Constant))
        if not isinstance(value, str | int | float | bool | torch.Tensor | np.number | np.bool_) and spec:
            raise GradtraceError("not_allowed", "format_not_allowed", {"spec": spec})
        return format(value, spec)

    def _listcomp(self, node: ast.ListComp) -> list[Any]:
        return self._comprehension(node)

    def _setcomp(self, node: ast.SetComp) -> set[Any]:
        return set(self._comprehension(node))

    def _genexp(self, node: ast.GeneratorExp) -> ListIterator:
        return ListIterator(self._comprehension(node), "generator")

    def _dictcomp(self, node: ast.DictComp) -> dict[Any, Any]:
        pairs = self._comprehension(node)
        return dict(pairs)

    def _comprehension(self, node: _Comprehension) -> list[Any]:
        """Every comprehension is computed at once, in a scope of its own."""
        result: list[Any] = []
        outer = self.scope
        self.scope = Scope("comprehension", outer)
        try:
            self._comprehend(node, 0, result)
        finally:
            self.scope = outer
        return result

    def _comprehend(self, node: _Comprehension, level: int, result: list[Any]) -> None:
        if level == len(node.generators):
            if isinstance(node, ast.DictComp):
                result.append((self.eval(node.key), self.eval(node.value)))
            else:
                result.append(self.eval(node.elt))
            check_sequence(len(result), self.budget.limits)
            return
        generator = node.generators[level]
        iterable = self.eval(generator.iter)
        self._expect_items(node, level, iterable, len(result))
        for item in dispatch.iterate(iterable):
            self.budget.loop()
            self.bind(generator.target, item, None)
            if all(self.truth(self.eval(condition)) for condition in generator.ifs):
                self._comprehend(node, level + 1, result)

    def _dict(self, node: ast.Dict) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:  # {**other}
                result.update(keyword_mapping(self.eval(value), strings=False))
            else:
                result[self.eval(key)] = self.eval(value)
            check_sequence(len(result), self.budget.limits)
        return result

    def _set(self, node: ast.Set) -> set[Any]:
        return set(self._elements(node.elts))

    def _expect_items(self, node: _Comprehension, level: int, iterable: object, made: int) -> None:
        """A comprehension never stops early: refuse ``[i for i in range(10**9)]`` before the first item.

        Each item costs its loop step and at least one step per condition, or for the
        innermost generator the element's own; with no condition, every item lands in the list.
        """
        if not isinstance(iterable, _ITERABLE) or (isinstance(iterable, torch.Tensor) and not iterable.shape):
            return
        generator = node.generators[level]
        items = range_length(iterable) if isinstance(iterable, range) else len(iterable)
        innermost = level == len(node.generators) - 1
        per_item = 1 + (len(generator.ifs) or int(innermost))
        self.budget.expect(items, items * per_item)
        if innermost and not generator.ifs:
            check_sequence(made + items, self.budget.limits)

    # ----- results -----
    def variables(self) -> dict[str, object]:
        return {name: self.names[name] for name in sorted(self.user_names, key=self.user_names.__getitem__)}

    def default_output(self) -> str | None:
        """The last assigned tensor with a ``grad_fn``; else the last assigned tensor."""
        ordered = sorted(self.user_names, key=self.user_names.__getitem__, reverse=True)
        tensors = [name for name in ordered if isinstance(self.names[name], torch.Tensor)]
        with_graph = [name for name in tensors if getattr(self.names[name], "grad_fn", None) is not None]
        candidates = with_graph or tensors
        return candidates[0] if candidates else None


def uncaught(raised: ProgramRaise) -> GradtraceError:
    """An exception the program raised and never caught ends the run as a runtime error."""
    value = raised.value
    detail = str(value)[:300] or type(value).__name__
    params = {"kind": type(value).__name__, "detail": detail}
    return GradtraceError("runtime", "python_error", params, raised.span, detail=detail)


def _facade(name: str) -> Any:
    return FACADES.get(name) or IMPORT_ONLY[name]


_JUMPS = (ast.Break, ast.Continue, ast.Return, ast.Raise, ast.Try, ast.Yield)
_Comprehension = ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp


def iterate(value: object) -> Iterator[Any]:
    return dispatch.iterate(value)


def unpack(value: object, count: int) -> list[Any]:
    if isinstance(value, torch.Tensor) and len(value.shape) == 0:
        raise GradtraceError("runtime", "not_iterable", {"what": "a 0-d tensor"})
    length = sized(value, "the value to unpack")
    if length != count:
        raise GradtraceError("runtime", "unpack_mismatch", {"size": length, "expected": count})
    return list(dispatch.iterate(value))


def unpack_targets(value: object, targets: list[ast.expr]) -> list[Any]:
    """``a, b = pair`` and ``first, *rest = items``."""
    starred = [i for i, t in enumerate(targets) if isinstance(t, ast.Starred)]
    if not starred:
        return unpack(value, len(targets))
    sized(value, "the value to unpack")
    items = list(dispatch.iterate(value))
    before, after = starred[0], len(targets) - starred[0] - 1
    if len(items) < before + after:
        raise GradtraceError("runtime", "unpack_mismatch", {"size": len(items), "expected": before + after})
    return [*items[:before], items[before : len(items) - after], *items[len(items) - after :]]


def keyword_mapping(value: object, *, strings: bool = True) -> dict[Any, Any]:
    """``f(**options)`` / ``{**d}``: a dict, whose keys are names a program could write."""
    if not isinstance(value, dict):
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": "argument after ** must be a dict"}
        )
    for key in value:
        if strings and (not isinstance(key, str) or key.startswith("__")):
            raise GradtraceError("not_allowed", "kwarg_not_allowed", {"name": str(key)[:40], "func": "**"})
    return dict(value)
