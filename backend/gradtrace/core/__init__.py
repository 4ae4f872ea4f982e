"""Shared vocabulary of every stage: typed errors, source spans, limits, messages."""

from gradtrace.core.errors import ErrorType, GradtraceError, Span
from gradtrace.core.limits import DEFAULT_LIMITS, Limits

__all__ = ["DEFAULT_LIMITS", "ErrorType", "GradtraceError", "Limits", "Span"]
