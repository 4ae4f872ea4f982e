"""Pre-flight: run a torch op on ``meta`` copies of its tensors before it runs for real.

A meta tensor has a shape, a dtype and strides but no data, so torch's own meta
kernels say what every output will be (broadcasting, views, pooling, convolutions…)
without allocating or computing anything. The budget is checked against those
outputs, and against the op's work from a cost model, before the real call:

- elements: each output tensor must fit the per-tensor and total limits;
- outputs: an op that would return very many tensors (``unbind``/``split``/``chunk``
  of a tall tensor) is refused from its arguments, before even the meta run;
- work: multiply-adds of the matmul and convolution families from shapes, ``n log n``
  for sorting-like ops, ``n³`` for linear-algebra decompositions, and every element
  read or written for the rest.

Ops whose output shape depends on the data (``nonzero``, ``unique``, ``masked_select``)
have no meta kernel; they are bounded by their inputs. Results are cached per op and
argument signature, so a training loop pays the meta run once per call site.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget
from gradtrace.run.shapes import ELEMENT_COST, check_shape, size_of
from gradtrace.run.values import words

Impl = Callable[..., Any]
_CACHE: dict[tuple[Any, ...], tuple[tuple[int, ...], int]] = {}
_CACHE_LIMIT = 4096
MAX_OUTPUTS = 10_000  # tensors one call may return (views cost a Python object each)

# name -> how its work grows with the elements n (or the largest dimension d) of its input.
_N_LOG_N = words(
    "sort argsort msort topk kthvalue median nanmedian quantile nanquantile unique unique_consecutive "
    "mode cummax cummin logcumsumexp searchsorted bucketize histc bincount"
)
_CUBIC = words(
    "svd svdvals inverse inv det slogdet logdet eig eigh eigvals eigvalsh qr cholesky cholesky_inverse "
    "solve lstsq pinv pinverse matrix_rank matrix_power matrix_exp lu lu_factor cond nuclear_norm "
    "triangular_solve cholesky_solve lu_solve orthogonal_ orthogonal cholesky_ex inv_ex solve_ex "
    "lu_factor_ex ldl_factor ldl_factor_ex ldl_solve solve_triangular householder_product matrix_norm "
    "tensorinv tensorsolve"
)
# Ops whose work is multiply-adds: counted by torch's FLOP counter on the meta run (then cached).
_FLOP_COUNTED = words(
    "addmm addbmm baddbmm addmv addr chain_matmul einsum tensordot bilinear linear inner vdot conv1d conv2d "
    "conv3d conv_transpose1d conv_transpose2d conv_transpose3d convolution scaled_dot_product_attention "
    "matmul mm bmm mv dot outer multi_dot vecdot"
)
_SPLITS = frozenset(
    {"unbind", "split", "chunk", "tensor_split", "split_with_sizes", "hsplit", "vsplit", "dsplit"}
)


def _meta(value: Any, found: list[int]) -> Any:
    if isinstance(value, torch.Tensor):
        found.append(size_of(value))
        return torch.empty_strided(tuple(value.shape), value.stride(), dtype=value.dtype, device="meta")
    if isinstance(value, list | tuple) and len(value) <= 1024:
        converted = [_meta(item, found) for item in value]
        return converted if isinstance(value, list) else tuple(converted)
    return value


def _signature(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return ("T", tuple(value.shape), value.dtype, value.stride())
    if isinstance(value, list | tuple):
        if len(value) > 64:
            raise _Uncacheable
        return (type(value).__name__, *(_signature(v) for v in value))
    if isinstance(value, dict):
        return tuple(sorted((k, _signature(v)) for k, v in value.items()))
    if isinstance(value, bool | int | float | str | type(None) | torch.dtype | torch.device):
        return value
    raise _Uncacheable


class _Uncacheable(Exception):
    """An argument whose signature would not say what the op does (measured every time)."""


def preflight(name: str, impl: Impl, args: tuple[Any, ...], kwargs: dict[str, Any], key: Any = None) -> None:
    """Refuse the call before it runs when its outputs or its work would not fit.

    ``key`` names the op for the cache when ``impl`` is made per call (a module's forward).
    """
    _check_outputs_count(name, args, kwargs)
    if any(isinstance(a, str) and a == "nuc" for a in (*args, *kwargs.values())):  # an SVD
        name = f"{name}_nuc"
    try:
        cache_key: Any = (name, key if key is not None else id(impl), _signature(args), _signature(kwargs))
    except _Uncacheable:
        cache_key = None
    cached = _CACHE.get(cache_key) if cache_key is not None else None
    if cached is None:
        cached = _measure(name, impl, args, kwargs)
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        if cache_key is not None:
            _CACHE[cache_key] = cached
    sizes, work = cached
    run = budget.budget()
    total = 0
    for size in sizes:
        run.tensor(size)
        total += size
    if run.elements + total > run.limits.total_elements:
        raise GradtraceError(
            "limit", "memory_budget", {"size": run.elements + total, "limit": run.limits.total_elements}
        )
    if run.flops + work > run.limits.flops:
        raise GradtraceError("limit", "too_much_work", {"size": run.flops + work, "limit": run.limits.flops})


def _measure(
    name: str, impl: Impl, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[int, ...], int]:
    found: list[int] = []
    meta_args, meta_kwargs = _meta(args, found), _meta(kwargs, found)
    inputs = sum(found)
    if not found:
        return _factory(impl, args, kwargs)
    try:
        with torch.no_grad(), torch._C.DisableTorchFunction():  # the tracer's mode never sees it
            out = impl(*meta_args, **meta_kwargs)
    except (NotImplementedError, TypeError, ValueError):
        bound = _data_bound(name, args, kwargs, inputs)  # data-dependent output shape
        return (bound,), _work(name, inputs, bound, found)
    except RuntimeError as exc:
        if "meta" in str(exc).lower():
            bound = _data_bound(name, args, kwargs, inputs)
            return (bound,), _work(name, inputs, bound, found)
        raise  # the op's own error (a shape mismatch…), found without touching any data
    sizes = tuple(size_of(t) for t in _tensors(out))
    work = _work(name, inputs, sum(sizes), found)
    if name in _FLOP_COUNTED:
        work += _counted_flops(impl, meta_args, meta_kwargs)
    return sizes, work


def _factory(impl: Impl, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    """No tensor in: a factory (``torch.normal(0, 1, size=...)``) made on the meta device."""
    try:
        with torch.no_grad(), torch._C.DisableTorchFunction():
            out = impl(*args, **{**kwargs, "device": "meta"})
    except (TypeError, ValueError, NotImplementedError):
        return (), 0  # not a factory (it takes no device): it makes nothing tensor-sized from nothing
    sizes = tuple(size_of(t) for t in _tensors(out))
    return sizes, ELEMENT_COST * sum(sizes)


def _data_bound(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], inputs: int) -> int:
    """The largest output an op whose shape depends on the data can make: most make at most
    their input (``nonzero``, ``unique``, ``masked_select``); a few read it from values."""
    first = args[0] if args else None
    repeats = kwargs.get("repeats", args[1] if len(args) > 1 else None)
    if name == "repeat_interleave" and isinstance(repeats, torch.Tensor):
        rows = int(repeats.sum().item()) if repeats.numel() else 0
        return rows * max(1, inputs // max(1, int(repeats.numel())))
    if name == "bincount" and isinstance(first, torch.Tensor):
        largest = int(first.max().item()) + 1 if first.numel() else 0
        return max(largest, int(kwargs.get("minlength", args[2] if len(args) > 2 else 0) or 0))
    if name in ("histogramdd", "histogram"):
        bins = kwargs.get("bins", args[1] if len(args) > 1 else 10)
        if isinstance(bins, list | tuple):
            return math.prod(int(b) if isinstance(b, int) else len(b) for b in bins) + inputs
    if name in _SELF_BOUNDED:
        return inputs * max(1, first.dim() if isinstance(first, torch.Tensor) else 1)
    raise GradtraceError("not_allowed", "op_not_bounded", {"name": name})


_SELF_BOUNDED = words(
    "nonzero argwhere unique unique_consecutive masked_select masked_scatter index_select take where "
    "segment_reduce repeat_interleave"
)


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [t for item in value[:MAX_OUTPUTS] for t in _tensors(item)]
    return []


def _counted_flops(impl: Impl, meta_args: Any, meta_kwargs: Any) -> int:
    """Multiply-adds of a matmul- or convolution-like op, counted by torch on the meta run."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), torch._C.DisableTorchFunction(), counter:
        impl(*meta_args, **meta_kwargs)
    return int(counter.get_total_flops()) // 2


def _work(name: str, inputs: int, outputs: int, found: list[int]) -> int:
    """What the op costs: its family's growth, never less than every element it touches."""
    base = ELEMENT_COST * (inputs + outputs)
    largest = max(found, default=0)
    if name in _N_LOG_N:
        return base + ELEMENT_COST * largest * max(1, math.ceil(math.log2(largest + 1)))
    if name in _CUBIC or name.endswith("_nuc"):
        side = math.isqrt(largest) + 1
        return base + side**3
    return base


def _check_outputs_count(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """``x.unbind()`` of a (10⁶, 1) tensor makes a million views: count them before the meta run."""
    if name not in _SPLITS or not args or not isinstance(args[0], torch.Tensor):
        return
    tensor = args[0]
    count = _split_count(name, tensor, args[1:], kwargs)
    if count > MAX_OUTPUTS:
        raise GradtraceError("limit", "too_many_outputs", {"size": count, "limit": MAX_OUTPUTS})


def _split_count(name: str, tensor: torch.Tensor, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    dim = kwargs.get("dim", rest[1] if len(rest) > 1 and isinstance(rest[1], int) else 0)
    if name == "unbind":
        dim = kwargs.get("dim", rest[0] if rest and isinstance(rest[0], int) else 0)
    shape = tuple(tensor.shape) or (1,)
    length = shape[dim] if isinstance(dim, int) and -len(shape) <= dim < len(shape) else max(shape)
    if name == "unbind":
        return length
    spec = (
        rest[0]
        if rest
        else kwargs.get("split_size_or_sections", kwargs.get("chunks", kwargs.get("sections")))
    )
    if isinstance(spec, list | tuple):
        return len(spec) + (1 if name == "tensor_split" else 0)
    if isinstance(spec, int) and spec > 0:
        return (
            spec
            if name in {"chunk", "tensor_split", "hsplit", "vsplit", "dsplit"}
            else math.ceil(length / spec)
        )
    return length


def preflighted(name: str, impl: Impl) -> Callable[[tuple[Any, ...], dict[str, Any]], None]:
    """A guard for a curated function: its pre-flight."""

    def guard(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        preflight(name, impl, args, kwargs)

    return guard


_ = check_shape
