"""Refuse constant expressions that would explode before the program even starts.

``2**10**10`` or ``[0] * 10**9`` are obvious from the text; the interpreter
checks the same things again at run time for values that are not constants.
Recursion here is safe: ``check`` has already bounded the tree's depth.
"""

from __future__ import annotations

import ast

from gradtrace.core.errors import GradtraceError
from gradtrace.core.limits import Limits
from gradtrace.sandbox.program import Program


class _Seq:
    """A constant list/tuple/str whose length is all that matters."""

    def __init__(self, length: int) -> None:
        self.length = length


Folded = int | _Seq | None  # None: not a constant we track


def check_constants(program: Program, limits: Limits) -> None:
    for node in ast.walk(program.tree):
        if isinstance(node, ast.BinOp | ast.UnaryOp | ast.Constant):
            try:
                _fold(node, limits)
            except GradtraceError as error:
                raise error.with_span(program.span(node)) from None


def _fold(node: ast.AST, limits: Limits) -> Folded:
    if isinstance(node, ast.Constant):
        return _constant(node.value, limits)
    if isinstance(node, ast.List | ast.Tuple):
        return _Seq(len(node.elts))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _fold(node.operand, limits)
        return -value if isinstance(value, int) and isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        return _binop(node.op, _fold(node.left, limits), _fold(node.right, limits), limits)
    return None


def _constant(value: object, limits: Limits) -> Folded:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        check_int_bits(value.bit_length(), limits)
        return value
    if isinstance(value, str):
        return _Seq(len(value))
    return None


def _binop(op: ast.operator, left: Folded, right: Folded, limits: Limits) -> Folded:
    if isinstance(left, int) and isinstance(right, int):
        return _int_op(op, left, right, limits)
    if isinstance(op, ast.Mult):
        seq, count = (left, right) if isinstance(left, _Seq) else (right, left)
        if isinstance(seq, _Seq) and isinstance(count, int):
            check_sequence(seq.length * max(count, 0), limits)
            return _Seq(seq.length * max(count, 0))
    if isinstance(op, ast.Add) and isinstance(left, _Seq) and isinstance(right, _Seq):
        check_sequence(left.length + right.length, limits)
        return _Seq(left.length + right.length)
    return None


def _int_op(op: ast.operator, left: int, right: int, limits: Limits) -> Folded:
    if isinstance(op, ast.Pow):
        if right < 0:
            return None
        check_int_bits(pow_bits(left, right), limits)
        return int(left**right)
    if isinstance(op, ast.Mult):
        check_int_bits(left.bit_length() + right.bit_length(), limits)
        return left * right
    if isinstance(op, ast.Add | ast.Sub):
        return left + right if isinstance(op, ast.Add) else left - right
    return None


def pow_bits(base: int, exponent: int) -> int:
    """An upper bound of the bit length of ``base ** exponent`` (exponent >= 0)."""
    if base in (0, 1, -1) or exponent == 0:
        return 1
    return abs(base).bit_length() * exponent


def check_int_bits(bits: int, limits: Limits) -> None:
    if bits > limits.int_bits:
        raise GradtraceError("limit", "int_too_large", {"limit": limits.int_bits})


def check_sequence(length: int, limits: Limits) -> None:
    if length > limits.sequence_length:
        raise GradtraceError("limit", "sequence_too_long", {"size": length, "limit": limits.sequence_length})
