"""on_big_stack: a fresh big-stack thread, or the current one when it already is one."""

from __future__ import annotations

import threading

import pytest

from gradtrace.tracer import on_big_stack


def test_a_call_runs_on_another_thread_and_nested_calls_stay_on_it() -> None:
    main = threading.get_ident()
    outer, inner = on_big_stack(lambda: (threading.get_ident(), on_big_stack(threading.get_ident)))
    assert outer != main and inner == outer
    assert on_big_stack(threading.get_ident) != main  # the main thread was never marked


def test_errors_reach_the_caller_through_nested_calls() -> None:
    def fail() -> None:
        raise ValueError("inner")

    with pytest.raises(ValueError, match="inner"):
        on_big_stack(on_big_stack, fail)
