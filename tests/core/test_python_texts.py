"""Python's common syntax error texts reach a Korean student in Korean, and every error
carries both languages' text so a client can switch language without asking again."""

from __future__ import annotations

import ast
import re

import pytest

from gradtrace.core.errors import GradtraceError
from gradtrace.sandbox import check

# Programs with the syntax errors students make most; CPython's own message is the input.
PROGRAMS = [
    "y = (x ** 2 +\n",
    "if x\n    y = 1\n",
    "x = 1\n    y = 2\n",
    "s = 'abc\n",
    "f(a=1, 2)\n",
    "def f():\nreturn 1\n",
    "x = )\n",
    "1 = x\n",
    "f() = 3\n",
    "x = 08\n",
    "for i in range(3):\npass\n",
    "x = [1, 2)\n",
    "print 'hi'\n",
]

HANGUL = re.compile("[\uac00-\ud7a3]")


def python_reason(source: str) -> str:
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return (exc.msg or "").split("\n")[0]
    raise AssertionError(f"{source!r} parses")


@pytest.mark.parametrize("source", PROGRAMS)
def test_python_syntax_messages_in_korean(source: str) -> None:
    reason = python_reason(source)
    with pytest.raises(GradtraceError) as info:
        check(source)
    error = info.value
    assert reason in error.message("en")
    korean = error.message("ko")
    tail = korean.split(":", 1)[1]
    assert HANGUL.search(tail), f"{reason!r} stayed English: {korean}"
    # What is left in Latin letters is code the student wrote or Python's quoted tokens.
    assert not re.search(r"\b(was|never|expected|cannot|invalid|unexpected|literal)\b", tail), korean


def test_every_error_carries_both_languages() -> None:
    with pytest.raises(GradtraceError) as info:
        check("y = (x ** 2 +\n")
    data = info.value.to_dict("en")
    assert data["message"] == data["messages"]["en"]["message"]
    assert set(data["messages"]) == {"en", "ko"}
    assert HANGUL.search(data["messages"]["ko"]["message"])
    assert HANGUL.search(data["messages"]["ko"]["hint"])
    assert data["messages"]["en"]["hint"] == data["hint"]
    assert data["params"] == {"reason": "'(' was never closed"}
