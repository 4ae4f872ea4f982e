"""Stage 1: parse the user's text and refuse, before anything runs, what is not allowed.

``check(source, limits) -> Program``; every refusal is a ``GradtraceError`` of type
``syntax``, ``not_allowed`` or ``limit`` with the line and column in the text.
"""

from gradtrace.sandbox.check import check
from gradtrace.sandbox.program import Program
from gradtrace.sandbox.static_sizes import check_int_bits, check_sequence, pow_bits
from gradtrace.sandbox.walk import attribute_refusal

__all__ = ["Program", "attribute_refusal", "check", "check_int_bits", "check_sequence", "pow_bits"]
