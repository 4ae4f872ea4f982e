"""The torch surface a program gets: by class, minus a reviewed deny-list.

Every public function of the ``torch`` namespace and every public method of
``torch.Tensor`` is offered, each pre-flighted on the meta device before it runs
(``preflight.py``), unless a rule below refuses it, with its reason. A test walks
the real modules, so a torch upgrade can neither widen nor narrow this silently.
"""

from __future__ import annotations

import re
import types
from typing import Any

import torch

from gradtrace.run.values import words

# reason: the names it refuses (regular expressions, searched in each public name).
_RULES: dict[str, tuple[str, ...]] = {
    "global settings": (r"^(set_|init_num|get_num|autocast|clear_autocast|is_autocast|use_deterministic)",),
    "files, raw memory or compiler internals": (
        r"^(from_file|frombuffer|from_dlpack|to_dlpack|import_ir_module|merge_type_from_type_comment)",
        r"^(parse_ir|parse_schema|parse_type_comment|unify_type_list|as_subclass|storage_type|qscheme)$",
    ),
    "reads memory outside the tensor's own elements": (r"as_strided",),
    "kernels of other backends, called without checks": (r"^(cudnn_|miopen_|mkldnn_|fbgemm_|is_vulkan)",),
    "quantized tensors are not supported": (
        r"quantiz|^q_|int_repr|dequantize|fake_quant|choose_qparams|fused_moving_avg",
    ),
    "sparse layouts: their size is not their element count": (
        r"sparse|^(c|)col_indices_copy|^crow_indices_copy|^row_indices_copy|^indices_copy|^values_copy",
        r"^(dsmm|hsmm|hspmm|saddmm|smm|spmm|sspaddmm|coalesce|is_coalesced|dense_dim|to_dense)$",
        r"^((c|)col_indices|crow_indices|row_indices|indices|values)$",
    ),
    "symbolic-shape internals": (r"^sym_",),
    "internal kernels: use the public op": (r"_backward|^batch_norm_(gather|stats|update|elemt)|^native_",),
    "uninitialised or unchecked memory": (
        r"^(resize_as_|unsafe_|empty_strided|empty_permuted|empty_quantized)",
        r"^(new|new_empty_strided)$",
    ),
    "recurrent kernels: use nn.LSTM, nn.GRU, nn.RNN": (r"^(lstm|gru|rnn_tanh|rnn_relu)(_cell)?$|^conv_tbc$",),
    "storages and pointers": (
        r"^(storage|untyped_storage|data_ptr|const_data_ptr|share_memory_|pin_memory|record_stream|set_)$",
        r"^module_load$",
    ),
    "runs a callback torch holds": (
        r"^(apply_|map_|map2_|register_backward_hook)$",
    ),
    "layouts that are not supported": (r"^(to_mkldnn|to_padded_tensor|nested_)",),
    "global random state, callbacks or files": (
        r"^(seed|initial_seed|get_rng_state|lobpcg|compile|cond|while_loop|vmap|load|save|fork|wait)$",
    ),
    "complex dtypes are not supported": (r"^(complex|polar|view_as_complex(_copy)?|view_as_real(_copy)?)$",),
    "other devices": (r"^(ipu|mtia|xpu|reinforce)$",),
}
DENY: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), reason) for reason, patterns in _RULES.items() for pattern in patterns
]
# Public Python-level functions of the torch namespace that are tensor ops.
PYTHON_OPS = words(
    "atleast_1d atleast_2d atleast_3d block_diag broadcast_shapes broadcast_tensors cartesian_prod cdist "
    "chain_matmul einsum meshgrid norm split stft istft tensordot unique unique_consecutive unravel_index "
    "is_tensor lu pca_lowrank svd_lowrank"
)
# Zero-filled stand-ins: a shared server never hands a program another program's memory.
ZEROED = {"empty": "zeros", "empty_like": "zeros_like", "new_empty": "new_zeros"}


def refusal(name: str) -> str | None:
    """The reason ``name`` is refused, or None."""
    for pattern, reason in DENY:
        if pattern.search(name):
            return reason
    return None


def torch_functions() -> dict[str, Any]:
    """Public torch functions offered to programs, by name."""
    found: dict[str, Any] = {}
    for name in dir(torch):
        if name.startswith("_") or refusal(name) is not None:
            continue
        value = getattr(torch, name)
        if isinstance(value, types.BuiltinFunctionType) or name in PYTHON_OPS:
            found[name] = getattr(torch, ZEROED[name]) if name in ZEROED else value
    return found


# torch's namespaces of plain tensor ops, offered like the top level. torch.fft is not: its
# results are complex, which the graph does not draw.
SUBMODULES: dict[str, types.ModuleType] = {"linalg": torch.linalg, "special": torch.special}
SUBMODULE_REFUSED: dict[str, str] = {
    "eig": "complex dtypes are not supported",
    "eigvals": "complex dtypes are not supported",
}


def submodule_functions(namespace: str) -> dict[str, Any]:
    """Public functions of ``torch.linalg`` or ``torch.special`` offered to programs, by name.

    Classified on their own: ``linalg.cond`` is a condition number, not ``torch.cond``.
    """
    found: dict[str, Any] = {}
    module = SUBMODULES[namespace]
    for name in dir(module):
        value = getattr(module, name)
        if name.startswith("_") or isinstance(value, type) or not callable(value):
            continue
        if name not in SUBMODULE_REFUSED:
            found[name] = value
    return found


def tensor_methods() -> list[str]:
    """Public ``torch.Tensor`` methods offered to programs."""
    names = []
    for name in dir(torch.Tensor):
        if name.startswith("_") or refusal(name) is not None:
            continue
        if callable(getattr(torch.Tensor, name, None)):
            names.append(name)
    return names
