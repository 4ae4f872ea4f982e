"""gradtrace: see PyTorch autograd.

The public Python API is imported lazily so that ``gradtrace --help`` and the
server's parent process start without paying for ``import torch``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Graph", "__version__", "capture", "trace", "trace_source"]

if TYPE_CHECKING:
    from gradtrace.pipeline import Graph, capture, trace, trace_source


def __getattr__(name: str) -> Any:
    if name in {"Graph", "capture", "trace", "trace_source"}:
        from gradtrace import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'gradtrace' has no attribute {name!r}")
