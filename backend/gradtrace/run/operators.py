"""Binary, unary and comparison operators, each checked before it computes.

``a @ b`` is charged by its arithmetic, ``a + b`` on tensors by its broadcast
size, ``2 ** n`` by its bit length, ``[0] * n`` by its length; ``"%s" % x`` is
refused (strings are code wherever Python formats).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget
from gradtrace.run.backward import mark
from gradtrace.run.shapes import charge, check_broadcast, check_matmul, nested_size, size_of
from gradtrace.sandbox import check_int_bits, check_sequence, pow_bits

BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.MatMult: operator.matmul, ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}  # fmt: skip
INPLACE: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.iadd, ast.Sub: operator.isub, ast.Mult: operator.imul, ast.Div: operator.itruediv,
    ast.FloorDiv: operator.ifloordiv, ast.Mod: operator.imod, ast.Pow: operator.ipow,
    ast.MatMult: operator.imatmul, ast.BitAnd: operator.iand, ast.BitOr: operator.ior,
    ast.BitXor: operator.ixor,
}  # fmt: skip
UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
    ast.Invert: operator.invert,
}
COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: operator.contains(b, a), ast.NotIn: lambda a, b: not operator.contains(b, a),
}  # fmt: skip

_ARRAYS = (torch.Tensor, np.ndarray)
_SEQUENCES = (list, tuple, str)
_SCALARS = (int, float, bool)


def binary(op: ast.operator, left: Any, right: Any, *, inplace: bool = False) -> Any:
    before = budget.budget().flops
    check_binary(op, left, right)
    result = checked_result((INPLACE if inplace else BINARY)[type(op)](left, right), (left, right))
    mark(result, budget.budget().flops - before)
    return result


def unary(op: ast.unaryop, operand: Any) -> Any:
    return checked_result(UNARY[type(op)](operand), (operand,))


def compare(op: ast.cmpop, left: Any, right: Any) -> Any:
    is_array = isinstance(left, _ARRAYS) or isinstance(right, _ARRAYS)
    if is_array and not isinstance(op, ast.Is | ast.IsNot):
        check_broadcast(left, right)  # `a in b` on tensors compares by broadcasting too
    return checked_result(COMPARE[type(op)](left, right), (left, right))


def checked_result(result: Any, inputs: tuple[Any, ...]) -> Any:
    if type(result) is str and len(result) > 1024:  # strings take memory as tensors do
        budget.budget().created(len(result))
    elif isinstance(result, int) and not isinstance(result, bool):
        check_int_bits(result.bit_length(), budget.budget().limits)
    elif isinstance(result, torch.Tensor | np.ndarray):
        charge(result, inputs)
    return result


def sequence_size(value: Any, weigh: str = "items") -> int:
    """What a list costs to copy (or, weighing ``"chars"``, to print): its nested size.

    ``[row] * n`` counts ``row`` n times, although it holds one list.
    """
    if isinstance(value, list | tuple):
        limit = budget.budget().limits.sequence_length
        return nested_size(value, limit, weigh=weigh, code="sequence_too_long")
    return len(value)


def check_binary(op: ast.operator, left: Any, right: Any) -> None:
    limits = budget.budget().limits
    if isinstance(left, _SEQUENCES) or isinstance(right, _SEQUENCES):
        _check_sequence_op(op, left, right)
    elif isinstance(left, _ARRAYS) or isinstance(right, _ARRAYS):
        if isinstance(op, ast.MatMult):
            check_matmul(left, right)
        elif not isinstance(left, _SCALARS) and not isinstance(right, _SCALARS):
            check_broadcast(left, right)  # with a Python number the result is the array's size
    elif isinstance(left, int) and isinstance(right, int):
        if isinstance(op, ast.Pow) and right >= 0:
            check_int_bits(pow_bits(left, right), limits)
        elif isinstance(op, ast.Mult):
            check_int_bits(left.bit_length() + right.bit_length(), limits)


def _check_sequence_op(op: ast.operator, left: Any, right: Any) -> None:
    """``'a' * n``, ``[0] * n``, ``a + b`` and ``'%s' % x`` on strings, lists and tuples."""
    limits = budget.budget().limits
    if isinstance(op, ast.Mod) and isinstance(left, str):
        raise GradtraceError("not_allowed", "format_not_allowed", {"spec": "%"})
    if isinstance(op, ast.Mult):
        sequence, other = (left, right) if isinstance(left, _SEQUENCES) else (right, left)
        count = _repeat_count(other)
        if count is not None:
            check_sequence(sequence_size(sequence) * max(count, 0), limits)
            return
    if isinstance(left, _ARRAYS) or isinstance(right, _ARRAYS):  # torch converts the list
        check_broadcast(left, right)
    elif isinstance(op, ast.Add) and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        check_sequence(sequence_size(left) + sequence_size(right), limits)


def _repeat_count(value: Any) -> int | None:
    """The count Python would repeat a sequence by: ints, numpy ints, one-element int tensors."""
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, torch.Tensor) and size_of(value) == 1 and not value.dtype.is_floating_point:
        return int(value.item())
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biu":
        return int(value.item())
    return None
