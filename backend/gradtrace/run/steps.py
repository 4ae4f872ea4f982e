"""A lower bound on the interpreter steps one pass over a loop body costs.

A loop that cannot stop early (no ``break``/``continue``) is charged
``iterations * minimum_steps(body)`` before its first iteration, so a loop that
cannot fit is refused at once instead of after grinding through the budget.
The bound must never exceed what the interpreter really charges (that would
refuse a program that fits): only nodes that are evaluated on every path count,
each as the one step ``Interpreter.eval`` charges for it.
"""

from __future__ import annotations

import ast

# Statements whose value the interpreter always evaluates.
_WITH_VALUE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign)


def minimum_steps(body: list[ast.stmt]) -> int:
    """Steps one pass over ``body`` takes at least: the loop step, each statement, what it surely runs."""
    return 1 + sum(_statement(stmt) for stmt in body)


def _statement(stmt: ast.stmt) -> int:
    if isinstance(stmt, _WITH_VALUE) and stmt.value is not None:
        return 1 + expression(stmt.value)
    if isinstance(stmt, ast.If):
        return 1 + expression(stmt.test)
    if isinstance(stmt, ast.For):
        return 1 + expression(stmt.iter)
    return 1


def expression(node: ast.expr) -> int:
    """Steps evaluating ``node`` costs on every path (short-circuits and branches count their first part)."""
    if isinstance(node, ast.BoolOp):
        return 1 + expression(node.values[0])
    if isinstance(node, ast.IfExp):
        return 1 + expression(node.test)
    if isinstance(node, ast.ListComp):
        return 1 + expression(node.generators[0].iter)
    if isinstance(node, ast.Compare):
        return 1 + expression(node.left) + expression(node.comparators[0])
    if isinstance(node, ast.Starred):  # the interpreter evaluates the starred value directly
        return expression(node.value)
    if isinstance(node, ast.Subscript):
        return 1 + expression(node.value) + _index(node.slice)
    if isinstance(node, ast.Call):
        return 1 + expression(node.func) + sum(expression(arg) for arg in node.args)
    if isinstance(node, ast.BinOp):
        return 1 + expression(node.left) + expression(node.right)
    if isinstance(node, ast.UnaryOp):
        return 1 + expression(node.operand)
    if isinstance(node, ast.Attribute):
        return 1 + expression(node.value)
    if isinstance(node, ast.List | ast.Tuple):
        return 1 + sum(expression(element) for element in node.elts)
    return 1  # names, constants, f-strings and anything else: at least their own step


def _index(node: ast.expr) -> int:
    """An index is not a step itself when it is a slice or a tuple of indices (``eval_index``)."""
    if isinstance(node, ast.Slice):
        return sum(expression(part) for part in (node.lower, node.upper, node.step) if part is not None)
    if isinstance(node, ast.Tuple):
        return sum(_index(element) for element in node.elts)
    return expression(node)
