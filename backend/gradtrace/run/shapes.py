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
from gradtrace.sandbox import check_sequence

Shape = tuple[int, ...]
# Work units per element an op reads or writes. Heavy ops are charged one unit per
# multiply-add, which vectorised kernels do ~20x faster than a plain elementwise pass.
ELEMENT_COST = 16
NUMBER_TYPES = (bool, int, float, np.bool_, np.integer, np.floating)


def shape_of(value: object) -> Shape | None:
    """The shape of a tensor-like value (scalars are ``()``), or None if it has none."""
    if isinstance(value, torch.Tensor | np.ndarray):
        return tuple(value.shape)
    if isinstance(value, NUMBER_TYPES):
        return ()
    if isinstance(value, list | tuple):
        return _list_shape(value)
    return None


def _list_shape(value: list[Any] | tuple[Any, ...]) -> Shape:
    """The shape torch infers from nested lists: the lengths along the first elements."""
    shape: list[int] = []
    item: Any = value
    while isinstance(item, list | tuple) and len(shape) < 64:
        shape.append(len(item))
        item = item[0] if item else None
    return tuple(shape)


def size_of(tensor: torch.Tensor) -> int:
    """``tensor.numel()`` from its shape, read with torch-function handling off: the tracer's
    forward mode would otherwise see each of the run's own thousands of size checks."""
    with torch._C.DisableTorchFunction():
        shape = tensor.shape  # a no-op where the caller turned it off already
    total = 1
    for size in shape:
        total *= size
    return total


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


def as_size(value: object) -> int | None:
    """A size-like argument as an int, or None if torch would not read it as one.

    Torch reads a one-element integer tensor wherever it takes a size, count or
    number of steps (``linspace(0, 1, torch.tensor(10**9))``), so every guard must
    read it too, or the check is skipped and torch allocates first.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, torch.Tensor) and size_of(value) == 1:
        if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
            return None
        with torch._C.DisableTorchFunction():  # a guard's read is not an op of the program
            return int(value.reshape(()).item())
    return None


def size_args(args: Sequence[Any], kwargs: dict[str, Any], key: str = "size") -> Shape:
    """``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros(size=(2, 3))``, ``zeros(torch.tensor(3))`` → a shape."""
    raw: Any = kwargs.get(key, args)
    if as_size(raw) is not None:
        raw = (raw,)
    if isinstance(raw, Sequence | torch.Size) and len(raw) == 1 and isinstance(raw[0], Sequence | torch.Size):
        raw = raw[0]
    if not isinstance(raw, Sequence | torch.Size):
        raise GradtraceError("runtime", "python_error", _bad_size(raw))
    shape = []
    for size in raw:
        value = as_size(size)
        if value is None:
            raise GradtraceError("runtime", "python_error", _bad_size(size))
        shape.append(value)
    return tuple(shape)


def _bad_size(size: object) -> dict[str, str]:
    detail = f"sizes must be integers, not {type(size).__name__}"
    return {"kind": "TypeError", "detail": detail}


def broadcast(*shapes: Shape | None) -> Shape | None:
    """The broadcast shape, or None when torch will raise its own (explained) error.

    Plain Python: ``torch.broadcast_shapes`` costs ~100 µs, more than the op itself.
    """
    known = [s for s in shapes if s is not None]
    out = [1] * max((len(s) for s in known), default=0)
    for shape in known:
        offset = len(out) - len(shape)
        for i, size in enumerate(shape):
            current = out[offset + i]
            if size == current or size == 1:
                continue
            if current != 1:
                return None
            out[offset + i] = size
    return tuple(out)


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
    budget.budget().work(numel(out) * left[-1])  # multiply-adds


def check_outer(a: object, b: object) -> None:
    sa, sb = shape_of(a), shape_of(b)
    if sa is not None and sb is not None:
        check_shape((numel(sa), numel(sb)))


def count_leaves(data: object) -> int:
    """Elements of nested lists given to ``torch.tensor``/``np.array``, without recursion.

    ``[[0] * 1000] * 1000`` is a small list of a million elements: count before converting.
    """
    return nested_size(
        data, budget.budget().limits.tensor_elements, weigh="elements", code="tensor_too_large"
    )


def nested_size(data: object, limit: int, *, weigh: str, code: str) -> int:
    """Leaves of a nested list/tuple, counting each distinct list once (``[row] * n`` shares ``row``).

    Work is proportional to the memory the lists really use; the result is their
    logical size, which is what converting or printing them would cost. ``weigh`` is
    ``"elements"``, ``"items"`` or ``"chars"`` (see ``_leaf``).
    """
    if not isinstance(data, list | tuple):
        return _leaf(data, weigh)
    sizes: dict[int, int] = {}
    nested: dict[int, list[Any]] = {}  # the list children of each list being measured
    stack: list[tuple[list[Any] | tuple[Any, ...], bool]] = [(data, False)]
    while stack:
        item, children_done = stack.pop()
        key = id(item)
        if key in sizes:
            continue
        if not children_done:
            if key in nested:
                raise GradtraceError(
                    "runtime", "python_error", {"kind": "ValueError", "detail": "a list contains itself"}
                )
            nested[key] = children = [child for child in item if isinstance(child, _LISTS)]
            stack.append((item, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            budget.budget().step()
            continue
        sizes[key] = _list_weight(item, nested.pop(key), sizes, weigh)
        if sizes[key] > limit:
            raise GradtraceError("limit", code, {"size": sizes[key], "limit": limit})
    return sizes[id(data)]


_LISTS = (list, tuple)
_WEIGHTY = (torch.Tensor, np.ndarray, range)


def _list_weight(item: Sequence[Any], children: list[Any], sizes: dict[int, int], weigh: str) -> int:
    """One list's weight from its measured children; plain leaves weigh 1 (C-speed passes only:
    ``x = x + x`` measures a list of 65,536 items at every doubling)."""
    total = len(item) - len(children) + sum(sizes[id(child)] for child in children)
    if weigh != "items":
        total += sum(_leaf(leaf, weigh) - 1 for leaf in item if isinstance(leaf, _WEIGHTY))
    return total


def range_length(value: range) -> int:
    """``len(range)`` in O(1), even past ``sys.maxsize`` (where ``len`` raises OverflowError)."""
    try:
        return len(value)
    except OverflowError:
        return 2**63


def _leaf(value: object, weigh: str) -> int:
    """One leaf's weight: its elements (``torch.tensor``), 1 (a list item) or its text (``print``).

    A ``range`` converts item by item in Python (``np.array(range(10**9))``): it weighs
    its length, which must also fit the sequence limit, before anything walks it.
    """
    if isinstance(value, range) and weigh == "elements":
        length = range_length(value)
        check_sequence(length, budget.budget().limits)
        return length
    if weigh == "items" or not isinstance(value, torch.Tensor | np.ndarray):
        return 1
    count = size_of(value) if isinstance(value, torch.Tensor) else int(value.size)
    if weigh == "elements":
        return count
    return 4 * min(count, 1000) + 10  # torch prints all of a small tensor, a summary of a big one


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
    if isinstance(value, torch.Tensor) and size_of(value) == 1:
        return float(value.item())
    if isinstance(value, NUMBER_TYPES):
        return float(value)
    return 0.0


def check_printable(value: object) -> None:
    """``print(torch.ones([2] * 21))``: torch summarises only past 1,000 elements, and then keeps
    three items at each end of every dimension; bound the text before torch builds it."""
    if not isinstance(value, torch.Tensor | np.ndarray):
        return
    shape = tuple(value.shape)
    options = torch._tensor_str.PRINT_OPTS  # the run's own (torch.set_printoptions), restored after it
    threshold, edge = options.threshold, 2 * options.edgeitems
    if isinstance(value, np.ndarray):
        threshold, edge = 1000, 6
    shown = numel(shape) if numel(shape) <= threshold else numel(min(size, edge) for size in shape)
    width = 8 + options.precision  # sign, digits, point, exponent, separator
    chars = width * shown + 2 * numel(shape[:-1])  # digits and separators, brackets of every row
    run = budget.budget()
    if chars > run.limits.print_chars:
        raise GradtraceError("limit", "print_too_long", {"size": chars, "limit": run.limits.print_chars})
    run.step(6 * shown)  # torch formats an element in about the time of six interpreter steps


def charge(result: object, inputs: tuple[object, ...] = ()) -> None:
    """Count the tensors a call returned, and its work: every element it read or wrote.

    Elementwise work matters too: ``x.expand(4_000_000).sum()`` in a loop allocates
    nothing but reads millions of elements each time.
    """
    run = budget.budget()
    budget.charge_graph()
    if type(result) is torch.Tensor and len(inputs) <= 2:  # the common case, kept cheap
        size = size_of(result)
        run.created(size)
        run.work(ELEMENT_COST * (size + sum(size_of(v) for v in inputs if isinstance(v, torch.Tensor))))
        return
    work = 0
    for value in inputs:
        if isinstance(value, torch.Tensor):
            work += size_of(value)
        elif isinstance(value, np.ndarray | list | tuple):
            work += _elements(value)
    if isinstance(result, tuple | list):
        for item in result[:1024]:
            if isinstance(item, torch.Tensor):
                run.created(size_of(item))
                work += size_of(item)
    elif isinstance(result, torch.Tensor | np.ndarray):
        size = _elements(result)
        run.created(size)
        work += size
    if work:
        run.work(ELEMENT_COST * work)


def _elements(value: object) -> int:
    if isinstance(value, torch.Tensor):
        return int(size_of(value))
    if isinstance(value, np.ndarray):
        return int(value.size)
    if isinstance(value, list | tuple) and len(value) <= 1024:
        return sum(int(size_of(v)) for v in value if isinstance(v, torch.Tensor))
    return 0
