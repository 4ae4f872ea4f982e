"""``current_span``: the source range of the expression being evaluated right now.

The tracer reads it from inside its ``TorchFunctionMode`` to tie each torch op
to the text that caused it. Kept in its own tiny module so reading it is cheap.
"""

from __future__ import annotations

from contextvars import ContextVar

from gradtrace.core.errors import Span

current_span: ContextVar[Span | None] = ContextVar("gradtrace_current_span", default=None)
