"""The surface by class: every public torch op and Tensor method is offered or refused with a reason.

Walks the real modules, so a torch upgrade that adds or removes a public name fails
here until the name is classified (``backend/gradtrace/run/surface.py``).
"""

from __future__ import annotations

import types

import torch

from gradtrace.run.facades import TORCH
from gradtrace.run.methods import METHODS
from gradtrace.run.surface import PYTHON_OPS, refusal

# Counts for torch 2.13.0; a new torch release changes them on purpose.
OFFERED_FUNCTIONS = 526
OFFERED_METHODS = 506
OFFERED_LINALG = 39
OFFERED_SPECIAL = 56


def _ops() -> list[str]:
    public = [n for n in dir(torch) if not n.startswith("_")]
    return [n for n in public if isinstance(getattr(torch, n), types.BuiltinFunctionType) or n in PYTHON_OPS]


def test_every_torch_op_is_offered_or_refused_with_a_reason() -> None:
    offered = [n for n in _ops() if n in TORCH.members]
    for name in _ops():
        assert (name in TORCH.members) != (refusal(name) is not None), name
    assert len(offered) == OFFERED_FUNCTIONS


def test_every_tensor_method_is_offered_or_refused_with_a_reason() -> None:
    names = [n for n in dir(torch.Tensor) if not n.startswith("_")]
    public = [n for n in names if callable(getattr(torch.Tensor, n, None))]
    table = METHODS["tensor"]
    for name in public:
        assert (name in table) or refusal(name) is not None, name
    assert len([n for n in public if n in table]) == OFFERED_METHODS


def test_dangerous_names_stay_refused() -> None:
    for name in ("as_strided", "from_file", "set_num_threads", "frombuffer", "load", "save", "vmap", "seed"):
        assert name not in TORCH.members
    for name in ("set_", "data_ptr", "storage", "untyped_storage", "share_memory_", "apply_", "as_strided"):
        assert name not in METHODS["tensor"]


def test_linalg_and_special_are_offered_whole_but_for_complex_results() -> None:
    """Every public function of ``torch.linalg`` and ``torch.special`` is offered or refused with
    a reason (``eig``/``eigvals`` return complex tensors); ``torch.fft`` stays out (all complex)."""
    from gradtrace.run.surface import SUBMODULE_REFUSED, SUBMODULES

    for namespace, module in SUBMODULES.items():
        facade = TORCH.members[namespace]
        members = {n: getattr(module, n) for n in dir(module) if not n.startswith("_")}
        public = [n for n, value in members.items() if callable(value) and not isinstance(value, type)]
        for name in public:
            assert (name in facade.members) != (name in SUBMODULE_REFUSED), (namespace, name)
    assert len(TORCH.members["linalg"].members) == OFFERED_LINALG
    assert len(TORCH.members["special"].members) == OFFERED_SPECIAL
    assert "fft" not in TORCH.members
