"""``check``: turn text into a ``Program`` or refuse it, before anything runs.

The order matters: cheap text checks first, then ``ast.parse`` guarded against
its own recursion/memory errors, then an *iterative* depth count, and only
then the rule walk (which may recurse, now that depth is known to be small).
"""

from __future__ import annotations

import ast

from gradtrace.core.errors import GradtraceError, Span
from gradtrace.core.limits import DEFAULT_LIMITS, Limits
from gradtrace.sandbox import messages as _messages  # noqa: F401  (registers the catalog)
from gradtrace.sandbox.program import Program, split_lines
from gradtrace.sandbox.rules import ALLOWED_NODES, SPECIFIC_REFUSALS, syntax_name
from gradtrace.sandbox.static_sizes import check_constants
from gradtrace.sandbox.walk import annotation_refusal, check_node, stored_names


def check(source: str, limits: Limits = DEFAULT_LIMITS) -> Program:
    """Parse and statically check ``source``; raise ``GradtraceError`` on any refusal."""
    if not isinstance(source, str):
        raise GradtraceError("syntax", "syntax_error", {"reason": "the program must be text"})
    _check_text(source, limits)
    tree = _parse(source, limits)
    program = Program(source, tree, split_lines(source))
    _check_depth(program, limits)
    bound = stored_names(tree)
    for node in ast.walk(tree):
        if type(node) not in ALLOWED_NODES:
            raise _refuse_syntax(node, program)
        error = check_node(node, bound)
        if error is None and isinstance(node, ast.AnnAssign):
            error = annotation_refusal(node.annotation)
        if error is not None:
            raise error.with_span(program.span(node))
    check_constants(program, limits)
    _check_placement(program, program.tree.body, in_loop=False, in_function=False)
    return program


def _check_placement(program: Program, body: list[ast.stmt], *, in_loop: bool, in_function: bool) -> None:
    """What parses but Python's compiler refuses: ``break`` outside a loop, ``return`` outside a function."""
    for stmt in body:
        _check_statement(program, stmt, in_loop=in_loop, in_function=in_function)


def _check_statement(program: Program, stmt: ast.stmt, *, in_loop: bool, in_function: bool) -> None:
    misplaced = _misplaced(stmt, in_loop=in_loop, in_function=in_function)
    if misplaced is not None:
        raise GradtraceError("syntax", "syntax_error", {"reason": misplaced}, program.span(stmt))
    if not in_function and _yields(stmt):
        reason = {"reason": "'yield' outside function"}
        raise GradtraceError("syntax", "syntax_error", reason, program.span(stmt))
    if isinstance(stmt, ast.FunctionDef):
        _check_placement(program, stmt.body, in_loop=False, in_function=True)
    elif isinstance(stmt, ast.ClassDef):
        _check_placement(program, stmt.body, in_loop=False, in_function=False)
    elif isinstance(stmt, ast.For | ast.While):
        _check_placement(program, stmt.body, in_loop=True, in_function=in_function)
        _check_placement(program, stmt.orelse, in_loop=in_loop, in_function=in_function)
    else:
        for block in _blocks(stmt):
            _check_placement(program, block, in_loop=in_loop, in_function=in_function)


def _misplaced(stmt: ast.stmt, *, in_loop: bool, in_function: bool) -> str | None:
    if isinstance(stmt, ast.Break | ast.Continue) and not in_loop:
        return f"'{'break' if isinstance(stmt, ast.Break) else 'continue'}' outside loop"
    if isinstance(stmt, ast.Return) and not in_function:
        return "'return' outside function"
    if isinstance(stmt, ast.Nonlocal) and not in_function:
        return "nonlocal declaration not allowed at module level"
    return None


def _yields(stmt: ast.stmt) -> bool:
    """A ``yield`` in this statement's own code (not in a nested function or class)."""
    if isinstance(stmt, ast.FunctionDef | ast.ClassDef):
        return False
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Yield):
            return True
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.stmt | ast.Lambda))
    return False


def _blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    if isinstance(stmt, ast.If | ast.With):
        return [stmt.body, getattr(stmt, "orelse", [])]
    if isinstance(stmt, ast.Try):
        return [stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody]
    return []


def _check_text(source: str, limits: Limits) -> None:
    if len(source) > limits.source_chars:
        raise GradtraceError("limit", "source_too_long", {"size": len(source), "limit": limits.source_chars})
    lines = source.count("\n") + 1
    if lines > limits.source_lines:
        raise GradtraceError("limit", "too_many_lines", {"size": lines, "limit": limits.source_lines})
    _check_brackets(source, max(limits.nesting_depth, 100))


def _check_brackets(source: str, limit: int) -> None:
    """Refuse absurd bracket nesting before the parser sees it (it recurses on it).

    Brackets inside strings are counted too: a real program never comes close.
    """
    depth = 0
    for line_no, line in enumerate(split_lines(source), start=1):
        for col, char in enumerate(line, start=1):
            if char in "([{":
                depth += 1
                if depth > limit:
                    raise GradtraceError(
                        "limit", "too_deep", {"limit": limit}, Span(line_no, col, line_no, col + 1)
                    )
            elif char in ")]}":
                depth = max(depth - 1, 0)


def _parse(source: str, limits: Limits) -> ast.Module:
    try:
        return ast.parse(source, mode="exec")
    except SyntaxError as exc:  # includes IndentationError
        raise _syntax_error(exc) from None
    except (RecursionError, MemoryError):
        raise GradtraceError("limit", "too_deep", {"limit": limits.nesting_depth}) from None
    except (ValueError, OverflowError) as exc:  # null bytes, huge literals
        raise GradtraceError("syntax", "syntax_error", {"reason": str(exc)[:200]}) from None


def _syntax_error(exc: SyntaxError) -> GradtraceError:
    span = None
    if exc.lineno:
        col = exc.offset or 1
        end_line = exc.end_lineno or exc.lineno
        end_col = exc.end_offset if exc.end_offset and exc.end_offset > 0 else col + 1
        if end_line == exc.lineno and end_col <= col:
            end_col = col + 1
        span = Span(exc.lineno, col, end_line, end_col)
    reason = (exc.msg or "invalid syntax").split("\n")[0][:200]
    return GradtraceError("syntax", "syntax_error", {"reason": reason}, span)


def _check_depth(program: Program, limits: Limits) -> None:
    """Count depth and size without recursion: the tree may be thousands of levels deep."""
    stack: list[tuple[ast.AST, int]] = [(program.tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > limits.ast_nodes:
            raise GradtraceError("limit", "too_many_nodes", {"limit": limits.ast_nodes})
        if depth > limits.nesting_depth:
            raise GradtraceError("limit", "too_deep", {"limit": limits.nesting_depth}, program.span(node))
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.expr_context | ast.operator | ast.unaryop | ast.cmpop | ast.boolop):
                stack.append((child, depth + 1))


def _refuse_syntax(node: ast.AST, program: Program) -> GradtraceError:
    code = SPECIFIC_REFUSALS.get(type(node), "syntax_not_allowed")
    return GradtraceError("not_allowed", code, {"what": syntax_name(node)}, program.span(node))
