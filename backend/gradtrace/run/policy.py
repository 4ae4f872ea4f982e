"""Attribute access by runtime type: the ``(type, attribute)`` allow-list.

``get_attribute`` is the only way the interpreter reads an attribute. Data
attributes are read with ``getattr`` only after the pair is allowed; methods
come back as ``Method`` objects so that calling them is checked again.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from gradtrace.core.errors import GradtraceError
from gradtrace.run import objects
from gradtrace.run.facades import MODULE_TYPES, OPTIMIZER_TYPES, SCHEDULER_TYPES
from gradtrace.run.methods import METHODS
from gradtrace.run.values import Facade, Method
from gradtrace.sandbox import attribute_refusal
from gradtrace.sandbox.rules import FUNC_ATTRS

_words = str.split

DATA: dict[str, frozenset[str]] = {
    "tensor": frozenset(
        _words("shape dtype device ndim requires_grad grad grad_fn is_leaf T mT H data is_cuda")
    ),
    "size": frozenset(),
    "dtype": frozenset(_words("is_floating_point is_signed itemsize")),
    "device": frozenset(_words("type index")),
    "grad_fn": frozenset(_words("next_functions")),
    "module": frozenset(
        _words(
            "weight bias in_features out_features in_channels out_channels kernel_size stride padding "
            "dim training negative_slope p reduction start_dim end_dim"
        )
    ),
    "optimizer": frozenset(_words("param_groups defaults state")),
    "scheduler": frozenset(_words("last_epoch base_lrs optimizer")),
    "ndarray": frozenset(_words("shape dtype ndim size T")),
    "return_types": frozenset(_words("values indices")),
    "list": frozenset(),
    "ctx": frozenset(_words("saved_tensors needs_input_grad")),
    "exception": frozenset(_words("args")),
    "str": frozenset(),
    "dict": frozenset(),
    "set": frozenset(),
    "loader": frozenset(_words("dataset batch_size")),
    "handle": frozenset(),
}


def kind_of(value: object) -> str | None:
    """The policy table that applies to ``value`` (by exact or curated runtime type)."""
    if isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, torch.Size):
        return "size"
    if isinstance(value, torch.dtype):
        return "dtype"
    if isinstance(value, torch.device):
        return "device"
    if isinstance(value, torch.autograd.function.FunctionCtx):
        return "ctx"
    if isinstance(value, torch.autograd.graph.Node):
        return "grad_fn"
    if type(value) in MODULE_TYPES or (isinstance(value, nn.Module) and objects.info_of(value) is not None):
        return "module"
    if type(value) in OPTIMIZER_TYPES:
        return "optimizer"
    if type(value) in SCHEDULER_TYPES:
        return "scheduler"
    if type(value) is np.ndarray:
        return "ndarray"
    if type(value).__module__ == "torch.return_types":
        return "return_types"
    if type(value) is list:
        return "list"
    return _kind_of_more(value)


def _kind_of_more(value: object) -> str | None:
    if isinstance(value, torch.autograd.function.FunctionCtx):
        return "ctx"
    if type(value) is str:
        return "str"
    if type(value) in (dict, objects.DefaultDict, OrderedDict):
        return "dict"
    if type(value) in (set, frozenset):
        return "set"
    if type(value) in objects.EXCEPTION_TYPES:
        return "exception"
    if hasattr(type(value), "iterate_in_sandbox"):
        return "loader"
    if type(value) is RemovableHandle:
        return "handle"
    return None


def owner_name(value: object) -> str:
    if isinstance(value, Facade):
        return f"`{value.name}`"
    kind = kind_of(value)
    return f"a {kind}" if kind else f"a value of type {type(value).__name__}"


def get_attribute(value: object, name: str) -> object:
    refusal = attribute_refusal(name)
    if refusal is not None:
        raise refusal
    found = objects.program_attribute(value, name)
    if found is not objects.MISSING:
        return found
    if name.startswith("_"):
        raise GradtraceError("not_allowed", "private_name", {"name": name})
    if isinstance(value, Facade):
        if name in value.members:
            return value.members[name]
        raise _not_available(value, name)
    kind = kind_of(value)
    if kind is None:
        raise _not_available(value, name)
    if name in DATA[kind] or (kind == "module" and _layer_attribute(value, name)):
        return _read(value, name)
    if name in METHODS.get(kind, {}):
        return Method(value, name, kind)
    raise _not_available(value, name)


def _layer_attribute(module: object, name: str) -> bool:
    """A layer's own settings and parts (``conv.kernel_size``, ``lstm.hidden_size``, ``model.fc``)."""
    stored = vars(module)
    return not name.startswith("_") and (
        name in stored or any(name in stored[t] for t in ("_parameters", "_buffers", "_modules"))
    )


def _read(value: object, name: str) -> object:
    result: Any = getattr(value, name)
    if isinstance(result, nn.Module) and type(result) not in MODULE_TYPES:
        raise _not_available(value, name)
    return result


def set_attribute(target: object, name: str, value: object) -> None:
    """The program's own objects take any attribute but their host's internals; a tensor takes
    ``requires_grad``, ``data`` and ``grad`` (what tutorials set); a Function's ``ctx`` takes its own."""
    if objects.set_program_attribute(target, name, value):
        return
    if not isinstance(target, torch.Tensor) or name not in _TENSOR_SETTABLE:
        raise GradtraceError("not_allowed", "assign_not_allowed", {"attr": name})
    if name == "requires_grad" and not isinstance(value, bool):
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": "requires_grad must be True or False"}
        )
    if name == "data" and not isinstance(value, torch.Tensor):
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": "data must be a tensor"}
        )
    if name == "grad" and value is not None and not isinstance(value, torch.Tensor):
        raise GradtraceError(
            "runtime", "python_error", {"kind": "TypeError", "detail": "grad must be a tensor or None"}
        )
    setattr(target, name, value)


_TENSOR_SETTABLE = frozenset({"requires_grad", "data", "grad"})


def delete_attribute(target: object, name: str) -> None:
    if not objects.delete_program_attribute(target, name):
        raise GradtraceError("not_allowed", "assign_not_allowed", {"attr": name})


def _not_available(value: object, name: str) -> GradtraceError:
    if isinstance(value, Facade) and name in FUNC_ATTRS:
        return GradtraceError("not_allowed", "func_not_allowed", {})
    return GradtraceError("not_allowed", "attribute_not_allowed", {"attr": name, "owner": owner_name(value)})
