"""Indexing and item assignment: ``x[0]``, ``x[:, 1]``, ``x[mask]``, ``mask[1:3] = True``.

Advanced indexing with an integer tensor can gather far more elements than
either input has (``x[torch.zeros(10**6).long()]``), so its result size is
bounded before torch runs it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils import data as torch_data

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget
from gradtrace.run.classes import dunder
from gradtrace.run.objects import DefaultDict
from gradtrace.run.shapes import charge, check_shape, size_of
from gradtrace.sandbox import check_sequence

_READABLE = (
    torch.Tensor, np.ndarray, list, tuple, str, range, torch.Size, torch.nn.Sequential, torch.nn.ModuleList,
    dict, DefaultDict,
)  # fmt: skip
_WRITABLE = (torch.Tensor, np.ndarray, list, dict, DefaultDict)


def get_item(container: Any, index: Any) -> Any:
    method = dunder(container, "__getitem__")
    if method is not None:
        return method(index)
    if isinstance(container, torch_data.Subset):  # random_split's parts: the program's dataset beneath
        return get_item(container.dataset, container.indices[index])
    if type(container) is torch_data.TensorDataset:
        return tuple(get_item(tensor, index) for tensor in container.tensors)
    if not isinstance(container, _READABLE):
        raise GradtraceError("not_allowed", "index_not_allowed", {"what": type(container).__name__})
    if isinstance(container, torch.Tensor | np.ndarray):
        _check_gather(container, index)
    result = container[index]
    if isinstance(result, torch.Tensor | np.ndarray):
        charge(result)
    return result


def set_item(container: Any, index: Any, value: Any) -> None:
    method = dunder(container, "__setitem__")
    if method is not None:
        method(index, value)
        return
    if isinstance(container, dict):
        check_sequence(len(container) + 1, budget.budget().limits)
    if not isinstance(container, _WRITABLE):
        raise GradtraceError("not_allowed", "index_not_allowed", {"what": type(container).__name__})
    if isinstance(container, torch.Tensor | np.ndarray):
        _check_gather(container, index)
    container[index] = value
    if isinstance(container, list):
        check_sequence(len(container), budget.budget().limits)


def delete_item(container: Any, index: Any) -> None:
    if not isinstance(container, list | dict):
        raise GradtraceError("not_allowed", "index_not_allowed", {"what": type(container).__name__})
    del container[index]


def _check_gather(container: Any, index: Any) -> None:
    """Bound the size of an advanced (integer-array) index before torch gathers it."""
    parts = index if isinstance(index, tuple) else (index,)
    largest = 0
    for part in parts:
        if isinstance(part, list):
            check_sequence(len(part), budget.budget().limits)
            part = np.asarray(part) if len(part) < 100_000 else part
        if isinstance(part, torch.Tensor | np.ndarray) and part.dtype not in (torch.bool, np.bool_):
            largest = max(largest, int(part.size if isinstance(part, np.ndarray) else size_of(part)))
    if largest:
        shape = tuple(container.shape) or (1,)
        smallest_dim = max(min(shape), 1)
        total = int(container.size if isinstance(container, np.ndarray) else size_of(container))
        check_shape((largest, max(total // smallest_dim, 1)))
