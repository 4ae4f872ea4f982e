"""Tensor values kept small enough to ship: the data up to a cap, else head + statistics.

Summaries are the tracer's main cost, so they are made in batches: ``Summaries.add``
hands back an empty dict at once and ``flush`` fills it, by groups of one shape, dtype
and device. Small tensors of a group are stacked, reduced together and converted with a
single ``tolist``; a big one is read where it lies, in its own dtype, in three
vectorised passes (min/max, sum, sum of squares), by a strided sample when huge, and
only what is shipped (head, statistics, heatmap cells) is ever widened to float64.
Float values are rounded to 8 significant digits (float32 holds about 7), so ``0.1``
ships as ``0.1``, not ``0.10000000149011612``. JSON has no NaN or infinity: those
become ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

Summary = dict[str, Any]
# (tensor, its summary or None when only describing, the node to describe or None)
Pending = list[tuple[torch.Tensor, Summary | None, dict[str, Any] | None]]
_NONFINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}
_DTYPE_NAMES: dict[torch.dtype, str] = {}


@dataclass(frozen=True)
class Detail:
    """How much of each tensor to ship."""

    cap: int = 64  # elements shipped in full
    head: int = 8  # first elements shown of a larger tensor
    grid: int = 16  # rows and columns of the heatmap of a larger 2-D tensor (0: none)


FULL = Detail()
COMPACT = Detail(cap=8, head=4, grid=0)  # for graphs of many thousands of nodes
CAP = FULL.cap


def dtype_name(dtype: torch.dtype) -> str:
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype).removeprefix("torch.")
    return name


_DEVICE_NAMES: dict[torch.device, str] = {}


def device_name(device: torch.device) -> str:
    name = _DEVICE_NAMES.get(device)
    if name is None:
        name = _DEVICE_NAMES[device] = str(device)
    return name


def clean(value: Any) -> Any:
    """Replace NaN and ±Inf in a nested list by their JSON strings."""
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else _NONFINITE[value]
    return value


def _readable(t: torch.Tensor) -> bool:
    return t.layout == torch.strided and t.device.type != "meta" and not t.is_complex()


# From 2,048 elements on, torch runs log10 and round (MKL's vector math) on every thread:
# on a busy machine each call then waits milliseconds for a core. Below, on the caller's.
SERIAL_NUMEL = 1024


def rounded(x: torch.Tensor, digits: int = 8) -> torch.Tensor:
    """``x`` (float64) rounded to ``digits`` significant digits; NaN, ±Inf and 0 unchanged.

    Element by element, so done in runs of ``SERIAL_NUMEL``, each on the calling thread."""
    if x.numel() <= SERIAL_NUMEL:
        return _rounded(x, digits)
    parts = x.reshape(-1).split(SERIAL_NUMEL)
    return torch.cat([_rounded(part, digits) for part in parts]).view(x.shape)


def _rounded(x: torch.Tensor, digits: int) -> torch.Tensor:
    ax = x.abs()
    ok = torch.isfinite(x) & (ax > 0)
    k = digits - 1 - torch.floor(torch.log10(torch.where(ok, ax, torch.ones_like(ax))))
    up = torch.pow(10.0, k.clamp(min=0))  # exact powers of ten for both directions
    down = torch.pow(10.0, (-k).clamp(min=0))
    r = torch.where(k >= 0, torch.round(x * up) / up, torch.round(x / down) * down)
    return torch.where(ok, r, x)


class Summaries:
    """Collects tensors to summarize and fills their summary dicts in one pass."""

    def __init__(self) -> None:
        self._pending: Pending = []
        # One summary per tensor object (ids stay unique: we hold them). Public so that hot
        # loops can find an existing summary without a method call.
        self.made: dict[int, Summary] = {}

    def add(self, t: torch.Tensor, describe: dict[str, Any] | None = None) -> Summary:
        """The summary of ``t``: an empty dict now, filled in by ``flush``.

        ``describe``, a tensor node, gets ``shape``, ``dtype`` and ``device`` at the same
        time: reading them once per group is cheaper than once per tensor.
        """
        summary = self.made.get(id(t))
        if summary is not None:
            if describe is not None:
                self._pending.append((t, None, describe))
            return summary
        summary = self.made[id(t)] = {}
        self._pending.append((t, summary, describe))
        return summary

    def flush(self, detail: Detail = FULL) -> None:
        groups: dict[tuple[Any, ...], _Group] = {}
        find = groups.get
        for t, summary, describe in self._pending:
            key = (t.shape, t.dtype, t.device)
            group = find(key)
            if group is None:
                group = groups[key] = _Group([], [], [])
            if summary is not None:
                group.tensors.append(t)
                group.summaries.append(summary)
            if describe is not None:
                group.described.append(describe)
        self._pending = []
        self.made = {}
        with torch.no_grad():
            for (shape, dtype, device), group in groups.items():
                _fill_group(list(shape), dtype, device_name(device), group, detail)


class _Group(NamedTuple):
    """Tensors of one shape, dtype and device: the summarized, their summaries, and the
    tensor nodes that take their shape, dtype and device from them."""

    tensors: list[torch.Tensor]
    summaries: list[Summary]
    described: list[dict[str, Any]]


def _fill_group(shape: list[int], dtype: torch.dtype, device: str, group: _Group, detail: Detail) -> None:
    numel = math.prod(shape)
    name = dtype_name(dtype)
    for node in group.described:
        node["shape"], node["dtype"], node["device"] = shape, name, device
    tensors, summaries = group.tensors, group.summaries
    base = {"shape": shape, "dtype": name, "numel": numel}
    for summary in summaries:
        summary.update(base)
    if not tensors or not _readable(tensors[0]):  # sparse, complex, meta: no data
        return
    if numel == 0:
        # [] or [[], []]: the shape, as lists; (2**24, 0) would be 16 million empty lists
        empty = tensors[0].detach().cpu().tolist() if _nested_lists(shape) <= detail.cap else None
        for summary in summaries:
            summary["data"] = empty
        return
    if numel <= detail.cap:
        stacked = _stack(tensors, shape, dtype)
        for summary, value in zip(summaries, _values(stacked, dtype), strict=True):
            summary["data"] = value
        return
    if numel <= BATCH_NUMEL:
        step = max(1, STACK_NUMEL // numel)  # a stacked copy of at most STACK_NUMEL elements at a time
        for at in range(0, len(tensors), step):
            flat = torch.stack(tensors[at : at + step]).reshape(-1, numel)
            moments, heads = _row_moments(flat), flat[:, : detail.head]
            _fill_large([flat], flat, numel, heads, moments, shape, summaries[at : at + step], detail)
        return
    tensors, copies = _distinct(tensors, summaries)
    summaries = summaries[: len(tensors)]
    sources = [_sample(t) for t in tensors] if numel > SAMPLE_ABOVE else tensors
    heads = torch.stack([_head(t, detail.head) for t in tensors])
    moments = torch.stack([_moments(x) for x in sources])
    _fill_large(tensors, sources, sources[0].numel(), heads, moments, shape, summaries, detail)
    for copy, original in copies:
        copy.update(original)


def _nested_lists(shape: list[int]) -> int:
    """How many lists ``tolist`` makes for a tensor of this shape (one per row of each level)."""
    count, rows = 0, 1
    for size in shape[:-1]:
        rows *= size
        count += rows
        if rows == 0:
            break
    return count


def _distinct(tensors: list[torch.Tensor], summaries: list[Summary]) -> tuple[list[torch.Tensor], Any]:
    """Tensors that are views of the same memory in the same layout (a saved tensor and the
    value it was saved from) hold the same numbers: read them once. Returns the distinct
    tensors (their summaries reordered first, in place) and (copy, original) summary pairs."""
    first: dict[tuple[int, tuple[int, ...]], int] = {}
    distinct: list[torch.Tensor] = []
    kept: list[Summary] = []
    copies: list[tuple[Summary, Summary]] = []
    for t, summary in zip(tensors, summaries, strict=True):
        key = (t.data_ptr(), t.stride())
        at = first.get(key)
        if at is None:
            first[key] = len(distinct)
            distinct.append(t)
            kept.append(summary)
        else:
            copies.append((summary, kept[at]))
    summaries[:] = kept + [copy for copy, _original in copies]
    return distinct, copies


def _stack(tensors: list[torch.Tensor], shape: list[int], dtype: torch.dtype) -> torch.Tensor:
    """One tensor of all the group's values (no ``detach``: it costs microseconds a tensor,
    and under ``no_grad`` nothing is recorded anyway). Single CPU numbers go through
    ``item()``, three times cheaper than stacking thousands of 0-d tensors."""
    if math.prod(shape) == 1 and tensors[0].device.type == "cpu":
        wide = torch.float64 if dtype.is_floating_point else None
        return torch.tensor([t.item() for t in tensors], dtype=wide).reshape(len(tensors), *shape)
    return torch.stack(tensors)


def _values(stacked: torch.Tensor, dtype: torch.dtype, digits: int = 8) -> list[Any]:
    """A few values as JSON-ready lists (float64 and rounding here: never on a whole big tensor)."""
    if not stacked.is_floating_point():
        out: list[Any] = stacked.cpu().tolist()
        return out
    x = stacked.double().cpu()
    if dtype != torch.float64 or digits < 8:
        x = rounded(x, digits)
    values = x.tolist()
    return values if bool(torch.isfinite(x).all()) else clean(values)


# Tensors of up to this many elements are stacked with the others of their shape and
# reduced as rows of one tensor; bigger ones are reduced one by one, where they lie.
BATCH_NUMEL = 4096
STACK_NUMEL = 1 << 22
# Statistics of bigger tensors come from an evenly strided sample of about SAMPLE elements.
SAMPLE_ABOVE = 1 << 22
SAMPLE = 1 << 20
GRID_DIGITS = 4


def _fill_large(
    tensors: list[torch.Tensor],
    rows: Any,
    count: int,
    heads: torch.Tensor,
    moments: torch.Tensor,
    shape: list[int],
    summaries: list[Summary],
    detail: Detail,
) -> None:
    """Head, statistics and, for 2-D, a heatmap grid of each tensor, converted in one go.

    ``tensors`` hold the values (one stacked tensor, or one each), ``rows[i]`` what the
    i-th statistics read (``count`` elements: all, or a strided sample); ``heads`` and
    ``moments`` are found already, a row each.
    """
    heads_list = _values(heads, heads.dtype)
    stats = _stats(moments, count, rows, heads.dtype)
    if count < math.prod(shape):
        for stat in stats:
            stat["sample"] = count
    grids = None
    if detail.grid and len(shape) == 2:
        pooled = [_grid_source(_numeric(t).reshape(-1, *shape), detail.grid) for t in tensors]
        grids = _grids(pooled[0] if len(pooled) == 1 else torch.cat(pooled), detail.grid)
    for i, (summary, head, stat) in enumerate(zip(summaries, heads_list, stats, strict=True)):
        summary["head"] = head
        summary["stats"] = stat
        if grids is not None:
            summary["grid"] = grids[i]


def _head(t: torch.Tensor, k: int) -> torch.Tensor:
    """The first ``k`` elements in row-major order, copying fewer than ``2 k``: the first index
    of the leading dimensions, the first rows of the one that reaches ``k`` (indexing
    ``unravel_index`` positions costs fifty times more; ``reshape`` of a broadcast view
    would copy all of it)."""
    k = min(k, t.numel())
    if t.is_contiguous():
        return t.view(-1)[:k]
    inner, split = 1, t.dim()
    while split > 0 and inner < k:
        split -= 1
        inner *= t.shape[split]
    block = t[(0,) * split]  # the trailing dimensions, which hold at least k elements
    rows = -(-k // max(1, inner // block.shape[0])) if block.dim() else 1
    return block[:rows].reshape(-1)[:k] if block.dim() else block.reshape(-1)


def _sample(t: torch.Tensor) -> torch.Tensor:
    """About ``SAMPLE`` elements, evenly strided: a view of ``t``, never a copy of all of it."""
    step = -(-t.numel() // SAMPLE)
    if t.is_contiguous():
        return t.view(-1)[step // 2 :: step]  # each element stands for the block it centres
    dim = max(range(t.dim()), key=lambda d: t.shape[d])
    step = min(step, t.shape[dim])
    index: list[slice] = [slice(None)] * t.dim()
    index[dim] = slice(step // 2, None, step)
    return t[tuple(index)]


def _numeric(x: torch.Tensor) -> torch.Tensor:
    """Floats stay in their own dtype; integers and booleans are reduced as float32."""
    return x if x.is_floating_point() else x.float()


def _accumulator(dtype: torch.dtype) -> torch.dtype:
    """Sums of half precision are kept in float32, where they cannot overflow."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _moments(x: torch.Tensor) -> torch.Tensor:
    """min, max, sum and sum of squares of one tensor, where it lies: four vectorised passes
    (``var_mean`` and ``aminmax`` are ten to fifty times slower on CPU), no copy."""
    x = _numeric(x)
    acc = _accumulator(x.dtype)
    lo, hi = torch.aminmax(x) if x.is_contiguous() else (x.amin(), x.amax())  # strided: two are faster
    sumsq = torch.linalg.vector_norm(x, dtype=acc).square()
    return torch.stack([lo.to(acc), hi.to(acc), x.sum(dtype=acc), sumsq])


def _row_moments(x: torch.Tensor) -> torch.Tensor:
    """``_moments`` of each row of a 2-D tensor."""
    x = _numeric(x)
    acc = _accumulator(x.dtype)
    sumsq = torch.linalg.vector_norm(x, dim=1, dtype=acc).square()
    return torch.stack([x.amin(1).to(acc), x.amax(1).to(acc), x.sum(1, dtype=acc), sumsq], 1)


def _stats(moments: torch.Tensor, count: int, rows: Any, dtype: torch.dtype) -> list[dict[str, Any]]:
    """min, max, mean and std (n - 1) of each row from its moments.

    NaN and ±Inf show in min or max: only such rows are read again, masked, to count them
    and reduce the finite rest. Where the sum of squares loses more than three of its
    digits to the mean (values far from zero, close together) or overflows, the row's
    variance is computed again from deviations (``var_mean``); a constant row needs neither.
    """
    lo, hi, total, sumsq = moments.unbind(1)
    mean = total / count
    spread = (sumsq - count * mean * mean).clamp(min=0)
    var = spread / max(count - 1, 1)
    table = torch.stack([lo, hi, mean, var.sqrt()], 1)
    finite = torch.isfinite(lo) & torch.isfinite(hi)
    inexact = finite & (hi > lo) & ~(spread > 1e-3 * sumsq)
    for i in torch.nonzero(inexact).flatten().tolist():
        row = _numeric(rows[i])
        var_i, _mean = torch.var_mean(row.to(moments.dtype))
        table[i, 3] = var_i.sqrt()
    stats = [{"min": a, "max": b, "mean": m, "std": sd} for a, b, m, sd in _values(table, dtype)]
    for i in torch.nonzero(~finite).flatten().tolist():
        stats[i] = _masked_stats(_numeric(rows[i]).reshape(1, -1), dtype)[0]
    return stats


def _masked_stats(x: torch.Tensor, dtype: torch.dtype) -> list[dict[str, Any]]:
    """Statistics over the finite values of each row, with counts of NaN and ±Inf (rare: the
    masks cost a few passes; half precision is summed as float32, where it cannot overflow)."""
    if x.element_size() < 4:
        x = x.float()
    finite = torch.isfinite(x)
    nan = torch.isnan(x)
    count = finite.sum(1)
    zeros = torch.zeros_like(x)
    mean = torch.where(finite, x, zeros).sum(1) / count.clamp(min=1)
    var = torch.where(finite, (x - mean[:, None]) ** 2, zeros).sum(1) / (count - 1).clamp(min=1)
    lo = torch.where(finite, x, torch.full_like(x, math.inf)).amin(1)
    hi = torch.where(finite, x, torch.full_like(x, -math.inf)).amax(1)
    stats = torch.stack([lo, hi, mean, var.sqrt()], 1)
    stats = torch.where(count[:, None] > 0, stats, torch.full_like(stats, math.nan))
    rows = _values(stats, dtype)
    counts = torch.stack([nan.sum(1), (~(finite | nan)).sum(1), count], 1).cpu().tolist()
    out = []
    for (n_nan, n_inf, n_finite), row in zip(counts, rows, strict=True):
        lo_, hi_, mean_, std_ = row if n_finite else (None, None, None, None)
        stat: dict[str, Any] = {"min": lo_, "max": hi_, "mean": mean_, "std": std_}
        if n_nan:
            stat["nan"] = n_nan
        if n_inf:
            stat["inf"] = n_inf
        out.append(stat)
    return out


def _grid_source(x: torch.Tensor, size: int) -> torch.Tensor:
    """``x`` (n × rows × cols) as n × 1 × rows × cols to pool; above ``SAMPLE_ABOVE`` elements
    every few rows and columns only, about ``16 size`` of each (a strided view, no copy)."""
    rows, cols = x.shape[1], x.shape[2]
    if x.numel() > SAMPLE_ABOVE:
        x = x[:, :: max(1, rows // (16 * size)), :: max(1, cols // (16 * size))]
    return x.unsqueeze(1)


def _grids(x: torch.Tensor, size: int) -> list[dict[str, Any]]:
    """Mean of each block of each 2-D tensor (``x``: n × 1 × rows × cols), at most ``size`` × ``size``."""
    rows, cols = min(size, x.shape[2]), min(size, x.shape[3])
    pooled = torch.nn.functional.adaptive_avg_pool2d(x, (rows, cols))[:, 0]
    # Cells only colour a heatmap: four digits are more than its colours can show.
    return [{"rows": rows, "cols": cols, "data": d} for d in _values(pooled, torch.float32, GRID_DIGITS)]
