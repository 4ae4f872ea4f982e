"""Turn any exception from torch or Python into a ``GradtraceError`` a student can act on.

The common torch errors of the course get their own code (and en/ko
explanation); everything else keeps torch's own first line as ``detail``.
"""

from __future__ import annotations

import re

from gradtrace.core.errors import GradtraceError
from gradtrace.run.budget import current_limits

# (code, pattern in torch's message), first match wins.
_TORCH_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("mixed_devices", re.compile(r"Expected all tensors to be on the same device|same device", re.I)),
    ("inplace_leaf", re.compile(r"leaf Variable that requires grad is being used in an in-place", re.I)),
    ("inplace_modified", re.compile(r"modified by an inplace operation", re.I)),
    ("backward_twice", re.compile(r"backward through the graph a second time|already been freed", re.I)),
    ("grad_non_scalar", re.compile(r"grad can be implicitly created only for (real )?scalar outputs", re.I)),
    ("no_grad_fn", re.compile(r"does not require grad and does not have a grad_fn", re.I)),
    (
        "matmul_shape",
        re.compile(
            r"cannot be multiplied|size mismatch|inconsistent tensor size|both arguments to matmul", re.I
        ),
    ),
    (
        "int_requires_grad",
        re.compile(r"Only Tensors of floating point( and complex)? dtype can require", re.I),
    ),
    ("numpy_requires_grad", re.compile(r"Can't call numpy\(\) on Tensor that requires grad", re.I)),
    (
        "device_unavailable",
        re.compile(r"not compiled with CUDA|No CUDA GPUs|invalid device ordinal|NVIDIA driver", re.I),
    ),
    ("shape_mismatch", re.compile(r"The size of tensor a \(\d+\) must match the size of tensor b", re.I)),
    ("view_shape", re.compile(r"shape '\[.*\]' is invalid for input of size", re.I)),
    (
        "dtype_mismatch",
        re.compile(
            r"expected scalar type|to have the same dtype|must have the same dtype|can't be cast", re.I
        ),
    ),
    ("nonleaf_requires_grad", re.compile(r"only change requires_grad flags of leaf variables", re.I)),
]
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[/\\][\w.\-+]+){2,}")
_PYTHON_ERRORS = (
    TypeError, ValueError, IndexError, KeyError, ZeroDivisionError, OverflowError, ArithmeticError,
    AttributeError, LookupError, AssertionError, NotImplementedError,
)  # fmt: skip


def short_detail(exc: BaseException, lines: int = 2, chars: int = 300) -> str:
    """torch's message without file paths or C++ stack traces: the first line(s) only."""
    text = str(exc).strip() or type(exc).__name__
    kept = [line for line in text.splitlines() if line.strip() and "File " not in line][:lines]
    detail = _PATH.sub("…", " ".join(kept))
    return detail if len(detail) <= chars else detail[: chars - 1] + "…"


def explain(exc: BaseException) -> GradtraceError:
    """One typed error for any exception raised while running user code."""
    if isinstance(exc, GradtraceError):
        return exc
    if isinstance(exc, RecursionError):
        return GradtraceError("limit", "too_deep", {"limit": current_limits().nesting_depth})
    if isinstance(exc, MemoryError):
        return GradtraceError("limit", "out_of_memory", {})
    detail = short_detail(exc)
    for code, pattern in _TORCH_PATTERNS:
        if pattern.search(detail):
            return GradtraceError("runtime", code, {"detail": detail}, detail=detail)
    if isinstance(exc, RuntimeError | AssertionError) or (type(exc).__module__ or "").startswith("torch"):
        return GradtraceError("runtime", "torch_error", {"detail": detail}, detail=detail)
    if isinstance(exc, _PYTHON_ERRORS):
        return GradtraceError(
            "runtime", "python_error", {"kind": type(exc).__name__, "detail": detail}, detail=detail
        )
    return GradtraceError("runtime", "internal", {"detail": detail}, detail=detail)
