"""Guards: the pre-allocation checks attached to curated functions, by kind of call.

A guard receives the call's ``(args, kwargs)`` and raises a ``limit`` error
before torch would allocate or compute past the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget
from gradtrace.run.shapes import (
    arange_length,
    as_size,
    check_broadcast,
    check_matmul,
    check_outer,
    check_shape,
    count_leaves,
    numel,
    shape_of,
    size_args,
    size_of,
)
from gradtrace.run.values import Guard

Args = tuple[Any, ...]
Kwargs = dict[str, Any]


def sized(args: Args, kwargs: Kwargs) -> None:
    """``zeros(2, 3)``, ``rand((2, 3))``, ``ones(size=...)``."""
    check_shape(size_args(args, kwargs))


def sized_first(args: Args, kwargs: Kwargs) -> None:
    """``full((2, 3), 7.0)``: the size is the first argument only."""
    check_shape(size_args(args[:1], kwargs))


def sized_randint(args: Args, kwargs: Kwargs) -> None:
    size = kwargs.get("size", args[-1] if args else ())
    check_shape(size_args((size,), {}))


def sized_count(args: Args, kwargs: Kwargs, kind: str = "randperm") -> None:
    """``randperm(n)``, ``eye(n)`` (n x n), ``eye(n, m)``."""
    given = [*args[:2], *(kwargs[k] for k in ("n", "m") if k in kwargs)]
    sizes = [size for size in map(as_size, given) if size is not None]
    check_shape(sizes[:1])
    if len(sizes) == 2 or (sizes and kind == "eye"):
        check_shape((sizes[0], sizes[-1]))


def eye(args: Args, kwargs: Kwargs) -> None:
    sized_count(args, kwargs, kind="eye")


def data(args: Args, kwargs: Kwargs) -> None:
    """``torch.tensor(nested lists)``: count the leaves first."""
    value = args[0] if args else kwargs.get("data")
    budget.budget().tensor(count_leaves(value))


def arange(args: Args, kwargs: Kwargs) -> None:
    check_shape((arange_length(args, kwargs),))


def linspace(args: Args, kwargs: Kwargs) -> None:
    steps = as_size(kwargs.get("steps", args[2] if len(args) > 2 else 0))
    if steps is not None:
        check_shape((steps,))


def broadcasting(args: Args, kwargs: Kwargs) -> None:
    values = [*args[:3], *(kwargs[k] for k in ("other", "input", "exponent") if k in kwargs)]
    check_broadcast(*values)


def matmul(args: Args, kwargs: Kwargs) -> None:
    if len(args) >= 2:
        check_matmul(args[0], args[1])


def outer(args: Args, kwargs: Kwargs) -> None:
    if len(args) >= 2:
        check_outer(args[0], args[1])


def joined(args: Args, kwargs: Kwargs) -> None:
    """``cat``/``stack``: the result holds every input's elements."""
    tensors = args[0] if args else kwargs.get("tensors", ())
    if isinstance(tensors, Sequence):
        check_shape((sum(numel(shape_of(t) or ()) for t in tensors),))


def linear(args: Args, kwargs: Kwargs) -> None:
    """``F.linear(x, w, b)``: like ``x @ w.T``."""
    if len(args) >= 2 and isinstance(args[1], torch.Tensor):
        check_matmul(args[0], args[1].T)


def conv2d(args: Args, kwargs: Kwargs) -> None:
    if len(args) >= 2:
        stride = kwargs.get("stride", args[3] if len(args) > 3 else 1)
        padding = kwargs.get("padding", args[4] if len(args) > 4 else 0)
        check_conv(shape_of(args[0]), shape_of(args[1]), stride, padding)


def check_conv(sx: tuple[int, ...] | None, sw: tuple[int, ...] | None, stride: Any, padding: Any) -> None:
    """Output size and arithmetic of a 2-d convolution, from the shapes alone."""
    if sx is None or sw is None or len(sx) not in (3, 4) or len(sw) != 4:
        return
    out_c, in_c, kh, kw = sw
    batch = sx[0] if len(sx) == 4 else 1
    height, width = sx[-2], sx[-1]
    sh, sv = _pair(stride)
    ph, pw = _pair(padding) if not isinstance(padding, str) else (kh // 2, kw // 2)
    out_h = max((height + 2 * ph - kh) // max(sh, 1) + 1, 0)
    out_w = max((width + 2 * pw - kw) // max(sv, 1) + 1, 0)
    out = (batch, out_c, out_h, out_w)
    check_shape(out)
    budget.budget().work(numel(out) * in_c * kh * kw)  # multiply-adds


def _pair(value: Any) -> tuple[int, int]:
    single = as_size(value)
    if single is not None:
        return single, single
    if isinstance(value, Sequence) and len(value) == 2:
        first, second = as_size(value[0]), as_size(value[1])
        if first is not None and second is not None:
            return first, second
    return 1, 1


def one_hot(args: Args, kwargs: Kwargs) -> None:
    given = kwargs.get("num_classes", args[1] if len(args) > 1 else -1)
    classes = as_size(given) if as_size(given) is not None else given
    shape = shape_of(args[0]) if args else None
    if (
        classes == -1
        and isinstance(args[0], torch.Tensor)
        and size_of(args[0])
        and not args[0].is_floating_point()
    ):
        classes = int(args[0].max().item()) + 1  # inferred from the data: bound it too
    if shape is not None and isinstance(classes, int) and classes > 0:
        check_shape((*shape, classes))


def layer(shape_of_weight: Any) -> Guard:
    """A guard for module constructors: the parameters they allocate."""

    def guard(args: Args, kwargs: Kwargs) -> None:
        check_shape(shape_of_weight(args, kwargs))

    return guard


def linear_weight(args: Args, kwargs: Kwargs) -> tuple[int, ...]:
    sizes = [*args[:2], *(kwargs[k] for k in ("in_features", "out_features") if k in kwargs)]
    return tuple(size for size in map(as_size, sizes[:2]) if size is not None)


def conv_weight(args: Args, kwargs: Kwargs) -> tuple[int, ...]:
    names = ("in_channels", "out_channels", "kernel_size")
    values = [*args[:3], *(kwargs[k] for k in names if k in kwargs)][:3]
    if len(values) < 3:
        return ()
    in_c, out_c = as_size(values[0]), as_size(values[1])
    if in_c is None or out_c is None:
        return ()
    kh, kw = _pair(values[2])
    return (in_c, out_c, kh, kw)


def numpy_sized(args: Args, kwargs: Kwargs) -> None:
    """``np.zeros((2, 3))`` / ``np.zeros(3)``, of a numeric dtype however it is given."""
    shape = kwargs.get("shape", args[0] if args else ())
    check_shape(size_args((shape,), {}))
    numpy_numeric(args[1:], kwargs)


def numpy_numeric(args: Args, kwargs: Kwargs) -> None:
    """numpy dtypes only when numeric: ``'U1000'``, ``'S400'``, ``'O'``, ``'V…'`` and structured ones
    would allocate strings or hold arbitrary objects, positional or keyword alike."""
    import numpy as np

    for value in (*args, kwargs.get("dtype")):
        if isinstance(value, str | np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
            try:
                kind = np.dtype(value).kind
            except TypeError:
                kind = "O"
            if kind not in "biuf":
                detail = "numpy dtypes here are numeric"
                raise GradtraceError("runtime", "python_error", {"kind": "TypeError", "detail": detail})


def numpy_elementwise(args: Args, kwargs: Kwargs) -> None:
    """A numpy function whose result is at most its inputs broadcast together."""
    check_broadcast(*[a for a in args[:3] if not isinstance(a, str)])
    numpy_numeric(args[1:], kwargs)


def numpy_joined(args: Args, kwargs: Kwargs) -> None:
    joined(args, kwargs)
    numpy_numeric((), kwargs)


def numpy_broadcast_to(args: Args, kwargs: Kwargs) -> None:
    shape = kwargs.get("shape", args[1] if len(args) > 1 else ())
    check_shape(size_args((shape,), {}))


def numpy_random(args: Args, kwargs: Kwargs) -> None:
    """``np.random.randn(3, 4)``."""
    check_shape(size_args(args, {}))


MAX_SEQUENTIAL_DEPTH = 8
MAX_SEQUENTIAL_MODULES = 256  # torch calls each one in Python, outside the step budget


def sequential(args: Args, kwargs: Kwargs) -> None:
    """``nn.Sequential(...)`` of modules only, nested a few levels at most (torch recurses on it)."""
    if kwargs:
        raise GradtraceError(
            "not_allowed", "kwarg_not_allowed", {"name": next(iter(kwargs)), "func": "nn.Sequential"}
        )
    if len(args) > MAX_SEQUENTIAL_MODULES:
        raise GradtraceError(
            "limit", "sequence_too_long", {"size": len(args), "limit": MAX_SEQUENTIAL_MODULES}
        )
    if len(args) == 1 and isinstance(args[0], dict):  # nn.Sequential(OrderedDict([...]))
        args = tuple(args[0].values())
    stack = [(module, 1) for module in args]
    while stack:
        module, depth = stack.pop()
        if not isinstance(module, torch.nn.Module):
            raise GradtraceError(
                "runtime", "python_error", {"kind": "TypeError", "detail": "nn.Sequential takes modules"}
            )
        if depth > MAX_SEQUENTIAL_DEPTH:
            raise GradtraceError("limit", "too_deep", {"limit": MAX_SEQUENTIAL_DEPTH})
        budget.budget().step()
        stack.extend((child, depth + 1) for child in module.children())


def module_list(args: Args, kwargs: Kwargs) -> None:
    """``nn.ModuleList([...])``: one iterable of modules (a list comprehension, typically)."""
    from torch import nn

    items = args[0] if args else kwargs.get("modules", [])
    if not isinstance(items, list | tuple) or not all(isinstance(m, nn.Module) for m in items):
        raise GradtraceError(
            "runtime",
            "python_error",
            {"kind": "TypeError", "detail": "nn.ModuleList takes a list of modules"},
        )
