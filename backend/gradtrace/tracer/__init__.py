"""Turning a PyTorch run into its autograd graph, with every value and gradient.

``capture()`` records a forward (ops, module paths, constants, spans) and every
backward pass (a hook on each autograd node); ``Capture.graph(output)`` walks
``next_functions`` and returns the graph dict of ``gradtrace.schema``.
``trace_tensor(output)`` does it for a tensor made without a capture.
"""

from gradtrace.tracer.capture import BackwardMode, Capture, capture, frozen_by_owner, trace_tensor
from gradtrace.tracer.stack import on_big_stack

__all__ = ["BackwardMode", "Capture", "capture", "frozen_by_owner", "on_big_stack", "trace_tensor"]
