"""Reading one autograd node: its name, its outputs' metadata, saved tensors, local derivatives.

Saved tensors and local derivatives must be read before backward frees the
node's buffers (unless ``retain_graph``); both return nothing once they are gone.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import torch

from gradtrace.tracer.summary import Summaries

Node = Any

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SUFFIX = re.compile(r"Backward\d*$")


@cache
def op_label(op: str) -> str:
    """``PowBackward0`` → ``pow``, ``AddmmBackward0`` → ``addmm``, ``AccumulateGrad`` → ``accumulate``."""
    if op == "AccumulateGrad":
        return "accumulate"
    base = _SUFFIX.sub("", op) or op
    return _CAMEL.sub("_", base).lower()


ACCUMULATE = torch._C._functions.AccumulateGrad  # type: ignore[attr-defined]


def output_meta(node: Node) -> list[tuple[list[int], str, str] | None]:
    """(shape, dtype, device) of each output, known even for outputs no Python code saw."""
    metas = getattr(node, "_input_metadata", None)
    if metas is None:
        return []
    out: list[tuple[list[int], str, str] | None] = []
    for m in metas:
        try:
            out.append((list(m.shape), str(m.dtype).removeprefix("torch."), str(m.device)))
        except (RuntimeError, TypeError):  # nested tensors have no plain shape
            out.append(None)
    return out


_SAVED_NAMES: dict[type, tuple[str, ...]] = {}


def _saved_names(cls: type) -> tuple[str, ...]:
    names = _SAVED_NAMES.get(cls)
    if names is None:
        names = _SAVED_NAMES[cls] = tuple(a for a in dir(cls) if a.startswith("_saved_"))
    return names


def saved_raw(node: Node) -> list[tuple[str, Any]]:
    """The node's ``_saved_*`` attributes (torchviz's show_saved), read while they still exist.

    Kept as they are and summarized only if the node is shown: a long loop's sampled-out
    iterations cost no summaries.
    """
    out: list[tuple[str, Any]] = []
    for attr in _saved_names(type(node)):
        try:
            value = getattr(node, attr)
        except RuntimeError:  # freed by backward
            continue
        out.append((attr.removeprefix("_saved_"), value))
    return out


def saved_items(
    raw: list[tuple[str, Any]], summaries: Summaries, tensors: bool = True
) -> list[dict[str, Any]]:
    """The ``saved`` list of an op node, from what ``saved_raw`` read."""
    out: list[dict[str, Any]] = []
    for name, value in raw:
        item = _saved_item(name, value, summaries, tensors)
        if item is not None:
            out.append(item)
    return out


def saved_values(node: Node, summaries: Summaries, tensors: bool) -> list[dict[str, Any]]:
    """The node's saved attributes as the ``saved`` list, at once."""
    return saved_items(saved_raw(node), summaries, tensors)


def _saved_item(name: str, value: Any, summaries: Summaries, tensors: bool) -> dict[str, Any] | None:
    if isinstance(value, torch.Tensor):
        return {"name": name, "summary": summaries.add(value)} if tensors else None
    if isinstance(value, bool | int | float | str):
        return {"name": name, "value": _number(value)}
    if isinstance(value, tuple | list) and all(isinstance(v, bool | int | float) for v in value):
        return {"name": name, "value": [_number(v) for v in value]}
    if value is None:
        return None
    if isinstance(value, tuple | list):
        return {"name": name, "value": f"{type(value).__name__} of {len(value)}"}
    return {"name": name, "value": str(value)[:80]}


_UINT64 = 1 << 64


def _number(v: Any) -> Any:
    """A saved argument as JSON: torch hands some int64 attributes over as unsigned
    (``dim=-1`` reads 18446744073709551615, ``ignore_index=-100`` 2**64 - 100)."""
    if type(v) is int and v >= _UINT64 >> 1:
        return v - _UINT64
    if isinstance(v, float) and v != v:
        return "NaN"
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return v


_ONES: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}


def scalar_locals(node: Node) -> list[torch.Tensor | None] | None:
    """∂output/∂input_i of a node whose output is a scalar, by asking the node (under no_grad).

    Calling the node with a gradient of one returns exactly the local derivatives.
    Only built-in (C++) nodes are asked: a custom Function's backward may have effects.
    """
    if type(node) is ACCUMULATE or type(node).__name__ == "BackwardCFunction":
        return None
    try:
        metas = node._input_metadata
        if len(metas) != 1 or len(metas[0].shape) != 0 or not metas[0].dtype.is_floating_point:
            return None
        key = (metas[0].dtype, metas[0].device)
    except (RuntimeError, TypeError):  # nested tensors have no plain shape
        return None
    one = _ONES.get(key)
    if one is None:
        one = _ONES[key] = torch.ones((), dtype=key[0], device=key[1])
    try:
        grads = node(one)
    except (RuntimeError, TypeError):  # buffers already freed, or an unusual signature
        return None
    if isinstance(grads, torch.Tensor):
        grads = (grads,)
    return [g if isinstance(g, torch.Tensor) and g.numel() == 1 else None for g in grads]
