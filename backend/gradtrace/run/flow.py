# mypy: disable-error-code="misc"
# (the mixins annotate `self` as the Interpreter they are mixed into)
"""``while``, ``try``, ``raise``, ``assert``, ``del``, ``global``/``nonlocal``: the interpreter's half.

``try`` catches only the program's own errors: what it raised, and runtime errors
of its own code (torch's, Python's). The sandbox's refusals and limits pass through
every ``except``, and once one is on its way no program code runs, not even a
``finally`` block.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from gradtrace.core.errors import GradtraceError
from gradtrace.run.exceptions import catchable, exception_class, program_exception
from gradtrace.run.functions import Break, Continue, ProgramRaise, Signal
from gradtrace.run.indexing import delete_item
from gradtrace.run.policy import delete_attribute
from gradtrace.run.spans import current_span

if TYPE_CHECKING:
    from gradtrace.run.interpreter import Interpreter


class Flow:
    """Mixed into ``Interpreter``."""

    def flow_statements(self: Interpreter) -> dict[type[ast.AST], Any]:
        return {
            ast.While: self._while, ast.Try: self._try, ast.Raise: self._raise, ast.Assert: self._assert,
            ast.Delete: self._delete, ast.Global: self._pass, ast.Nonlocal: self._pass,
        }  # fmt: skip

    def _while(self: Interpreter, stmt: ast.While) -> None:
        """Each test is a loop iteration: ``while True: pass`` meets the loop limit, not the clock."""
        token = current_span.set(self.program.span(stmt.test))
        try:
            while True:
                self.budget.loop()
                if not self.truth(self.eval(stmt.test)):
                    self.block(stmt.orelse)
                    return
                try:
                    self.block(stmt.body)
                except Break:
                    return
                except Continue:
                    continue
        finally:
            current_span.reset(token)

    def _try(self: Interpreter, stmt: ast.Try) -> None:
        try:
            self._try_body(stmt)
        except Signal:
            self.block(stmt.finalbody)  # return/break/continue leave through finally
            raise
        except ProgramRaise:
            self.block(stmt.finalbody)
            raise
        except GradtraceError as error:
            if catchable(error):
                self.block(stmt.finalbody)
            raise  # the sandbox's own errors skip finally: nothing runs after a limit
        self.block(stmt.finalbody)

    def _try_body(self: Interpreter, stmt: ast.Try) -> None:
        try:
            self.block(stmt.body)
        except ProgramRaise as raised:
            self._handle(stmt, raised.value)
            return
        except GradtraceError as error:
            if not catchable(error):
                raise
            self._handle(stmt, program_exception(error))
            return
        self.block(stmt.orelse)

    def _handle(self: Interpreter, stmt: ast.Try, exception: BaseException) -> None:
        for handler in stmt.handlers:
            if handler.type is None or self._matches(exception, self.eval(handler.type)):
                self._run_handler(handler, exception)
                return
        raise ProgramRaise(exception)

    def _matches(self: Interpreter, exception: BaseException, spec: Any) -> bool:
        specs = spec if isinstance(spec, tuple) else (spec,)
        return any(isinstance(exception, exception_class(item)) for item in specs)

    def _run_handler(self: Interpreter, handler: ast.ExceptHandler, exception: BaseException) -> None:
        if handler.name:
            self.bind(ast.Name(id=handler.name, ctx=ast.Store()), exception, self.program.span(handler))
        try:
            self.block(handler.body)
        except ProgramRaise as raised:
            raised.value.__context__ = None  # no chain of host objects to walk
            raise
        finally:
            if handler.name:
                self._forget(handler.name)

    def _raise(self: Interpreter, stmt: ast.Raise) -> None:
        if stmt.exc is None:
            raise GradtraceError(
                "runtime",
                "python_error",
                {"kind": "RuntimeError", "detail": "bare raise is not supported here"},
            )
        value = self.eval(stmt.exc)
        if isinstance(value, type) or isinstance(getattr(value, "cls", None), type):
            value = self._instantiate_exception(value)
        if not isinstance(value, Exception):
            raise GradtraceError(
                "runtime",
                "python_error",
                {"kind": "TypeError", "detail": "exceptions must derive from Exception"},
            )
        if stmt.cause is not None:
            self.eval(stmt.cause)  # evaluated, as in Python, but never attached
        raise ProgramRaise(value)

    def _instantiate_exception(self: Interpreter, value: Any) -> Any:
        from gradtrace.run.calls import call

        return call(value, (), {})

    def _assert(self: Interpreter, stmt: ast.Assert) -> None:
        if not self.truth(self.eval(stmt.test)):
            message = () if stmt.msg is None else (self.eval(stmt.msg),)
            raise ProgramRaise(AssertionError(*message))

    def _delete(self: Interpreter, stmt: ast.Delete) -> None:
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                self._forget(target.id)
            elif isinstance(target, ast.Subscript):
                delete_item(self.eval(target.value), self.eval_index(target.slice))
            elif isinstance(target, ast.Attribute):
                delete_attribute(self.eval(target.value), target.attr)
            else:
                for element in target.elts if isinstance(target, ast.Tuple | ast.List) else ():
                    self._delete(ast.Delete(targets=[element]))

    def _forget(self: Interpreter, name: str) -> None:
        """``del name``: gone from the scope that holds it (the program's own names only)."""
        scope = self.scope
        if scope is not None and name not in scope.declared_global:
            if name in scope.vars:
                del scope.vars[name]
                return
            raise GradtraceError("runtime", "name_undefined", {"name": name})
        if name not in self.user_names and name not in self.names:
            raise GradtraceError("runtime", "name_undefined", {"name": name})
        self.names.pop(name, None)
        self.user_names.pop(name, None)
        self.spans.pop(name, None)
