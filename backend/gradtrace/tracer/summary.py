"""Tensor values kept small enough to ship: the data up to a cap, else head + statistics.

Summaries are the tracer's main cost on big graphs, so they are made in batches:
``Summaries.add`` hands back the summary dict at once and fills it at ``flush``,
where small tensors of one shape and dtype are stacked and converted with a
single ``tolist``. JSON has no NaN or infinity: those become the strings
``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (see ``gradtrace.schema.Number``).
"""

from __future__ import annotations

import math
from typing import Any

import torch

CAP = 64  # elements shipped in full
HEAD = 8  # elements shown of a larger tensor
GRID = 16  # rows and columns of the heatmap of a larger 2-D tensor

Summary = dict[str, Any]
_NONFINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def clean(value: Any) -> Any:
    """Replace NaN and ±Inf in a nested list by their JSON strings."""
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else _NONFINITE[value]
    return value


def _readable(t: torch.Tensor) -> bool:
    return t.layout == torch.strided and t.device.type != "meta" and not t.is_complex()


class Summaries:
    """Collects tensors to summarize and fills their summary dicts in one pass."""

    def __init__(self, cap: int = CAP) -> None:
        self.cap = cap
        self._small: dict[tuple[Any, ...], list[tuple[torch.Tensor, Summary]]] = {}
        self._large: list[tuple[torch.Tensor, Summary]] = []

    def add(self, t: torch.Tensor) -> Summary:
        """The summary of ``t`` (filled in by ``flush``); safe to call under any grad mode."""
        t = t.detach()
        numel = t.numel()
        summary: Summary = {"shape": list(t.shape), "dtype": dtype_name(t.dtype), "numel": numel}
        if not _readable(t) or numel == 0:
            if numel == 0:
                summary["data"] = clean(t.tolist()) if _readable(t) else None
            return summary
        if numel <= self.cap:
            self._small.setdefault((t.shape, t.dtype, t.device), []).append((t, summary))
        else:
            self._large.append((t, summary))
        return summary

    def flush(self) -> None:
        with torch.no_grad():
            for group in self._small.values():
                _fill_small(group)
            for t, summary in self._large:
                _fill_large(t, summary)
        self._small.clear()
        self._large.clear()


def _fill_small(group: list[tuple[torch.Tensor, Summary]]) -> None:
    stacked = torch.stack([t for t, _ in group]).cpu()
    values = stacked.tolist()
    if stacked.is_floating_point() and not bool(torch.isfinite(stacked).all()):
        values = clean(values)
    for (_, summary), value in zip(group, values, strict=True):
        summary["data"] = value


def _fill_large(t: torch.Tensor, summary: Summary) -> None:
    flat = t.reshape(-1)
    summary["head"] = clean(flat[:HEAD].cpu().tolist())
    x = flat.double() if t.dtype != torch.float64 else flat
    nan = torch.isnan(x)
    inf = torch.isinf(x)
    finite = x[~(nan | inf)]
    if finite.numel():
        std = finite.std() if finite.numel() > 1 else finite.new_zeros(())
        parts = torch.stack([finite.min(), finite.max(), finite.mean(), std])
        lo, hi, mean, sd = clean(parts.cpu().tolist())
    else:
        lo = hi = mean = sd = None
    stats = {"min": lo, "max": hi, "mean": mean, "std": sd}
    n_nan, n_inf = int(nan.sum()), int(inf.sum())
    if n_nan:
        stats["nan"] = n_nan
    if n_inf:
        stats["inf"] = n_inf
    summary["stats"] = stats
    if t.dim() == 2:
        summary["grid"] = _grid(t)


def _grid(t: torch.Tensor) -> dict[str, Any]:
    """Mean of each block of a 2-D tensor, at most GRID × GRID cells (NaN stays NaN)."""
    rows, cols = min(GRID, t.shape[0]), min(GRID, t.shape[1])
    x = t.detach().double().cpu()[None, None]
    pooled = torch.nn.functional.adaptive_avg_pool2d(x, (rows, cols))[0, 0]
    return {"rows": rows, "cols": cols, "data": clean(pooled.tolist())}
