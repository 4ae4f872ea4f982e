"""Size arithmetic done *before* torch allocates: shapes, broadcasting, matmul work.

Every function here only reads shapes (``tensor.shape`` costs nothing) and
charges the run's budget; torch still does the real computation afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget

Shape = tuple[int, ...]
NUMBER_TYPES = (bool, int, float, np.bool_, np.integer, np.floating)


def shape_of(value: object) -> Shape | None:
    """The shape of a tensor-like value (scalars are ``()``), or None if it has none."""
    if isinstance(value, torch.Tensor | np.ndarray):
        return tuple(value.shape)
    if isinstance(value, NUMBER_TYPES):
        return ()
    return None


def numel(shape: Iterable[int]) -> int:
    total = 1
    for size in shape:
        total *= max(int(size), 0)
    return total


def check_shape(shape: Iterable[int]) -> None:
    """A tensor of this shape is about to be created: refuse it if it is too big."""
    limit = budget.budget().limits.tensor_elements
    total = 1
    for size in shape:
        total *= max(int(size), 0)
        if total > limit:
            budget.budget().tensor(total)
    budget.budget().tensor(total)


def size_args(args: Sequence[Any], kwargs: dict[str, Any], key: str = "size") -> Shape:
    """``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros(size=(2, 3))`` → ``(2, 3)``."""
    raw: Any = kwargs.get(key, args)
    if len(raw) == 1 and isinstance(raw[0], Sequence | torch.Size):
        raw = raw[0]
    if isinstance(raw, int):
        raw = (raw,)
    shape = []
    for size in raw:
        if isinstance(size, bool) or not isinstance(size, int | np.integer | torch.Tensor):
            raise GradtraceError("runtime", "python_error", _bad_size(size))
        shape.append(int(size))
    return tuple(shape)


def _bad_size(size: object) -> dict[str, str]:
    detail = f"sizes must be integers, not {type(size).__name__}"
    return {"kind": "TypeError", "detail": detail}


def broadcast(*shapes: Shape | None) -> Shape | None:
    """The broadcast shape, or None when torch will raise its own (explained) error."""
    known = [s for s in shapes if s is not None]
    try:
        return tuple(torch.broadcast_shapes(*[torch.Size(s) for s in known]))
    except (RuntimeError, ValueError, TypeError):
        return None


def check_broadcast(*values: object) -> None:
    shape = broadcast(*(shape_of(v) for v in values))
    if shape is not None:
        check_shape(shape)


def check_matmul(a: object, b: object) -> None:
    """Result size and arithmetic of ``a @ b``, with a readable error for mismatches."""
    sa, sb = shape_of(a), shape_of(b)
    if sa is None or sb is None or not sa or not sb:
        return
    left = sa if len(sa) > 1 else (1, *sa)
    right = sb if len(sb) > 1 else (*sb, 1)
    if left[-1] != right[-2]:
        raise GradtraceError(
            "runtime",
            "matmul_shape",
            {"detail": f"{list(sa)} @ {list(sb)}"},
            detail=f"{list(sa)} @ {list(sb)}",
        )
    batch = broadcast(left[:-2], right[:-2])
    if batch is None:
        return
    out = (*batch, left[-2], right[-1])
    check_shape(out)
    budget.budget().work(2 * numel(out) * left[-1])


def check_outer(a: object, b: object) -> None:
    sa, sb = shape_of(a), shape_of(b)
    if sa is not None and sb is not None:
        check_shape((numel(sa), numel(sb)))


def count_leaves(data: object) -> int:
    """Elements of nested lists given to ``torch.tensor``/``np.array``, without recursion.

    ``[[0] * 1000] * 1000`` is a small list of a million elements: count before converting.
    """
    limit = budget.budget().limits.tensor_elements
    total, stack = 0, [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
            budget.budget().step()
            continue
        if isinstance(item, torch.Tensor | np.ndarray):
            total += int(item.size if isinstance(item, np.ndarray) else item.numel())
        elif isinstance(item, NUMBER_TYPES):
            total += 1
        else:
            total += 1  # torch/numpy refuse other leaves with their own error
        if total > limit:
            budget.budget().tensor(total)
    return total


def arange_length(args: Sequence[Any], kwargs: dict[str, Any]) -> int:
    values = list(args)
    for key in ("start", "end", "step"):
        if key in kwargs:
            values.append(kwargs[key])
    start, end, step = (
        (0, values[0], 1) if len(values) == 1 else (*values[:2], values[2] if len(values) > 2 else 1)
    )
    start, end, step = (_number(v) for v in (start, end, step))
    if step == 0 or not all(math.isfinite(v) for v in (start, end, step)):
        return 0  # torch raises its own error
    return max(math.ceil((end - start) / step), 0)


def _number(value: object) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.item())
    if isinstance(value, NUMBER_TYPES):
        return float(value)
    return 0.0


def count_result(result: object) -> None:
    """Count the tensors a call returned (a tensor, or a tuple/list of them)."""
    run = budget.budget()
    if isinstance(result, torch.Tensor):
        run.created(result.numel())
    elif isinstance(result, np.ndarray):
        run.created(int(result.size))
    elif isinstance(result, tuple | list) and len(result) <= 1024:
        for item in result:
            if isinstance(item, torch.Tensor):
                run.created(item.numel())
