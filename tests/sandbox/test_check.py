"""The static check: what is refused before anything runs, and where the error points."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrace.core import DEFAULT_LIMITS, GradtraceError, Span
from gradtrace.sandbox import Program, check


def refusal(source: str, **limits: int) -> GradtraceError:
    with pytest.raises(GradtraceError) as info:
        check(source, DEFAULT_LIMITS.with_overrides(**limits))
    return info.value


def test_accepts_the_basic_autograd_example() -> None:
    program = check("x = torch.tensor([2.0], requires_grad=True)\ny = x**2 + 3*x + 1\ny.backward()\n")
    assert isinstance(program, Program)
    assert program.source.startswith("x = ")
    assert len(program.tree.body) == 3


@pytest.mark.parametrize(
    "line",
    [
        "import torch",
        "import numpy as np",
        "import torch.nn as nn",
        "import torch.nn.functional as F",
        "import torch.optim as optim",
        "import math",
        "from torch import nn",
    ],
)
def test_course_imports_are_accepted(line: str) -> None:
    check(line)


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("import os", "import_not_allowed"),
        ("from subprocess import run", "import_not_allowed"),
        ("from torch.func import vmap", "func_not_allowed"),
        ("class A:\n    def __getattr__(self, name):\n        pass", "dunder_not_allowed"),
        ("class A(metaclass=M):\n    pass", "class_keyword_not_allowed"),
        ("class A:\n    print(1)", "class_body_not_allowed"),
        ("@functools.wraps(g)\ndef f(x):\n    return x", "decorator_not_allowed"),
        ("x: torch.os.getcwd() = torch.ones(1)", "annotation_not_allowed"),
        ("def f(x: open('/etc/passwd')):\n    return x", "annotation_not_allowed"),
        ("async def f():\n    pass", "async_not_allowed"),
        ("x = torch.__class__", "private_name"),
        ("__builtins__ = 1", "private_name"),
        ("open('/etc/passwd')", "file_access_not_allowed"),
        ("eval('1')", "name_not_allowed"),
        ("torch.save(x, 'f.pt')", "file_access_not_allowed"),
        ("torch.set_default_dtype(torch.float64)", "global_state_not_allowed"),
        ("m = torch.compile(model)", "compile_not_allowed"),
        ("s = f'{x:{w}}'", "format_not_allowed"),
        ("s = f'{x:>1000000}'", "format_not_allowed"),
        ("x = 1 << 100", "syntax_not_allowed"),
        ("match x:\n    case 1:\n        pass", "syntax_not_allowed"),
    ],
)
def test_refusals_are_not_allowed_errors(source: str, code: str) -> None:
    error = refusal(source)
    assert (error.type, error.code) == ("not_allowed", code)
    assert error.span is not None and error.span.line >= 1
    assert error.message("ko") and error.hint("en") and error.hint("ko")


def test_a_name_the_program_binds_itself_is_fine() -> None:
    check("input = torch.ones(2)\ny = input * 2")


def test_course_format_specs_are_accepted() -> None:
    check("x = 1.5\nprint(f'{x:.4f} {x:>8} {3:,d} {x!r}')")


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("x = 2**10**10", "int_too_large"),
        ("x = 10**10**10", "int_too_large"),
        ("x = [0] * 10**9", "sequence_too_long"),
        ("x = 'a' * 10**9", "sequence_too_long"),
        ("x = " + "(" * 9_000 + "1" + ")" * 9_000, "too_deep"),
        ("x = " + "-" * 50_000 + "1", "source_too_long"),
        ("x = " + "[" * 80 + "]" * 80, "too_deep"),
    ],
)
def test_limits_are_checked_before_running(source: str, code: str) -> None:
    error = refusal(source)
    assert (error.type, error.code) == ("limit", code)


def test_deep_unary_chains_do_not_crash_the_parser() -> None:
    for source in ("-" * 19_000 + "1", "not " * 4_000 + "x", "a" + ".b" * 5_000):
        assert refusal(source).type in {"limit", "syntax"}


def test_limits_are_configurable_and_reported() -> None:
    error = refusal("x = 1\ny = 2\nz = 3", source_lines=2)
    assert error.code == "too_many_lines"
    assert "2" in error.message("en")


def test_syntax_error_points_at_the_line() -> None:
    error = refusal("x = 1\ny = (2 +\n")
    assert error.type == "syntax"
    assert error.span is not None and error.span.line == 2


def test_break_outside_a_loop_is_a_syntax_error() -> None:
    assert refusal("break").type == "syntax"
    check("for i in range(3):\n    if i == 1:\n        break")


def test_columns_count_characters_not_utf8_bytes() -> None:
    program = check("s = '한글'; y = z.x")
    with pytest.raises(GradtraceError) as info:
        check("s = '한글'; y = z.__x")
    assert info.value.span == Span(1, 15, 1, 20)  # `z.__x`, counted in characters
    statement = program.tree.body[0]
    assert program.span(statement) == Span(1, 1, 1, 9)  # 8 characters, 12 bytes


@given(st.text(alphabet=st.sampled_from("aZ 한글😀é_1"), max_size=20))
@settings(max_examples=100, deadline=None)
def test_spans_count_characters_whatever_the_text(prefix: str) -> None:
    source = f"s = {prefix!r}; y = x + 1"
    program = check(source)
    binop = program.tree.body[1].value  # type: ignore[attr-defined]
    span = program.span(binop)
    assert span is not None
    assert source[span.col - 1 : span.end_col - 1] == "x + 1"
