"""String methods and formatting: Python's results, Python's errors, and refusals before allocation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np
import pytest
import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.core.limits import Limits
from gradtrace.run import budget
from gradtrace.run.iterators import ListIterator
from gradtrace.run.strings import (
    STR_METHODS,
    default_render,
    format_method,
    format_template,
    percent_format,
    text_size,
)

SMALL = Limits().with_overrides(sequence_length=1000)


def _run_with(limits: Limits) -> Iterator[None]:
    token = budget.enter(budget.RunState(budget.Budget(limits), "cpu"))
    try:
        yield
    finally:
        budget.leave(token)


@pytest.fixture
def run() -> Iterator[None]:
    """A run with the default limits."""
    yield from _run_with(Limits())


@pytest.fixture
def small() -> Iterator[None]:
    """A run whose strings and lists stop at 1000."""
    yield from _run_with(SMALL)


def method(text: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
    return STR_METHODS[name](text, args, kwargs)


def refused(action: Callable[[], Any]) -> GradtraceError:
    """The error of a refusal, checked to read in both languages with a hint."""
    with pytest.raises(GradtraceError) as info:
        action()
    error = info.value
    assert error.type in ("limit", "not_allowed"), error
    assert error.message("en") != error.message("ko")
    assert error.hint("en") and error.hint("ko") and error.hint("en") != error.hint("ko")
    return error


def python_failure(action: Callable[[], Any], kind: str) -> GradtraceError:
    """A Python error (TypeError, ValueError...) as the typed run-time error, without a traceback."""
    with pytest.raises(GradtraceError) as info:
        action()
    error = info.value
    assert (error.type, error.code, error.params["kind"]) == ("runtime", "python_error", kind), error
    assert error.message("en").startswith(kind) and error.message("ko").startswith(kind)
    assert error.hint("en") != error.hint("ko")
    assert error.__context__ is None and error.__cause__ is None
    return error


# -- str methods ---------------------------------------------------------------------------------

METHOD_CASES: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = [
    ("-", "join", (["a", "bc", ""],), {}),
    (", ", "join", (("x", "y"),), {}),
    ("", "join", ("abc",), {}),
    ("-", "join", ([],), {}),
    (" a  b c ", "split", (), {}),
    ("a,b,,c", "split", (",",), {}),
    ("a,b,,c", "split", (",", 1), {}),
    ("a,b,,c", "split", (), {"sep": ",", "maxsplit": 2}),
    ("a b c", "split", (None, 10**9), {}),
    ("a,b,,c", "rsplit", (",", 1), {}),
    ("aaa", "rsplit", ("aa",), {}),
    ("", "split", (), {}),
    ("", "split", (",",), {}),
    ("  x  ", "strip", (), {}),
    ("xxaxx", "strip", ("x",), {}),
    ("xxaxx", "lstrip", ("x",), {}),
    ("xxaxx", "rstrip", (None,), {}),
    ("Hello World", "upper", (), {}),
    ("Hello World", "lower", (), {}),
    ("hello wORLD", "title", (), {}),
    ("hello wORLD", "capitalize", (), {}),
    ("straße ﬃ", "upper", (), {}),
    ("손실 loss", "upper", (), {}),
    ("banana", "replace", ("a", "o"), {}),
    ("banana", "replace", ("a", "o", 2), {}),
    ("banana", "replace", ("a", "", 0), {}),
    ("abc", "replace", ("", "-"), {}),
    ("abc", "replace", ("", "-", 2), {}),
    ("aaaa", "replace", ("aa", "b"), {}),
    ("abc", "replace", ("abc", "xyzxyz", 10**9), {}),
    ("loss", "startswith", ("lo",), {}),
    ("loss", "startswith", (("x", "lo"),), {}),
    ("loss", "startswith", ("ss", 2), {}),
    ("loss", "endswith", ("ss", 0, 10**30), {}),
    ("loss", "endswith", ("lo", None, 2), {}),
    ("ab", "center", (7,), {}),
    ("ab", "center", (7, "*"), {}),
    ("ab", "ljust", (5, "."), {}),
    ("ab", "rjust", (5,), {}),
    ("abc", "center", (-(10**9),), {}),
    ("42", "zfill", (6,), {}),
    ("-42", "zfill", (6,), {}),
    ("42", "zfill", (-3,), {}),
    ("banana", "count", ("an",), {}),
    ("banana", "count", ("",), {}),
    ("banana", "count", ("a", 2, 4), {}),
    ("banana", "find", ("na",), {}),
    ("banana", "find", ("x",), {}),
    ("banana", "find", ("a", -2), {}),
    ("banana", "index", ("nan",), {}),
    ("123", "isdigit", (), {}),
    ("12a", "isdigit", (), {}),
    ("abc", "isalpha", (), {}),
    (" \t", "isspace", (), {}),
    ("", "isspace", (), {}),
    ("a\nb\r\nc", "splitlines", (), {}),
    ("a\nb\r\nc\n", "splitlines", (True,), {}),
    ("a\nb", "splitlines", (), {"keepends": True}),
    ("{} + {b} = {}", "format", (1, 3), {"b": 2}),
]


@pytest.mark.parametrize(("text", "name", "args", "kwargs"), METHOD_CASES)
def test_methods_match_python(run: None, text: str, name: str, args: tuple[Any, ...], kwargs: Any) -> None:
    assert method(text, name, *args, **kwargs) == getattr(text, name)(*args, **kwargs)


def test_huge_counts_mean_all_where_python_would_overflow(run: None) -> None:
    assert method("a b c", "split", None, 10**30) == ["a", "b", "c"]
    assert method("a,b", "rsplit", ",", 10**30) == ["a", "b"]
    assert method("aXa", "replace", "a", "bb", 10**40) == "bbXbb"
    assert method("abc", "center", -(10**40)) == "abc"
    assert method("abc", "zfill", -(10**40)) == "abc"


def test_join_takes_what_python_iterates(run: None) -> None:
    assert method("-", "join", {"a": 1, "b": 2}) == "a-b"
    assert method("-", "join", {"x"}) == "x"
    items = ListIterator(["a", "b", "c"], "generator")  # what a generator expression gives
    assert method("", "join", items) == "abc"
    assert method("", "join", items) == ""  # consumed, as in Python
    python_failure(lambda: method("", "join", range(3)), "TypeError")
    python_failure(lambda: method("", "join", torch.ones(2)), "TypeError")


def test_index_like_values_are_accepted_as_ints(run: None) -> None:
    assert method("ab", "center", np.int64(6)) == "ab".center(6)
    assert method("ab", "rjust", torch.tensor(4)) == "ab".rjust(4)
    assert method("a,b,c", "split", ",", np.int32(1)) == ["a", "b,c"]
    assert method("7", "zfill", True) == "7"


@pytest.mark.parametrize(
    ("text", "name", "args", "kwargs"),
    [
        ("abc", "center", ("x",), {}),
        ("abc", "center", (5.0,), {}),
        ("abc", "center", (torch.tensor(5.0),), {}),
        ("abc", "center", (5, "ab"), {}),
        ("abc", "center", (5, 1), {}),
        ("abc", "center", (), {}),
        ("abc", "zfill", ("3",), {}),
        ("abc", "join", ([1, 2],), {}),
        ("abc", "join", (["a", None],), {}),
        ("abc", "join", (5,), {}),
        ("abc", "split", (1,), {}),
        ("abc", "split", (",", "x"), {}),
        ("abc", "split", (), {"separator": ","}),
        ("abc", "split", (",",), {"sep": ","}),
        ("abc", "split", (",", 1, 2), {}),
        ("abc", "replace", (1, "a"), {}),
        ("abc", "replace", ("a",), {}),
        ("abc", "replace", ("a", "b"), {"count": 1}),
        ("abc", "startswith", (1,), {}),
        ("abc", "startswith", (("a", 1),), {}),
        ("abc", "startswith", ("a", "0"), {}),
        ("abc", "count", (None,), {}),
        ("abc", "find", ("a", 0.5), {}),
        ("abc", "strip", (1,), {}),
        ("abc", "upper", (1,), {}),
        ("abc", "upper", (), {"x": 1}),
        (["not", "a", "str"], "upper", (), {}),
    ],
)
def test_wrong_argument_types_are_python_type_errors(
    run: None, text: Any, name: str, args: tuple[Any, ...], kwargs: Any
) -> None:
    python_failure(lambda: method(text, name, *args, **kwargs), "TypeError")


def test_python_value_errors_are_typed(run: None) -> None:
    error = python_failure(lambda: method("banana", "index", "x"), "ValueError")
    assert "substring not found" in error.message("en")
    python_failure(lambda: method("a b", "split", ""), "ValueError")
    python_failure(lambda: method("a b", "rsplit", ""), "ValueError")


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("x", "center", (10**9,)),
        ("x", "center", (10**100,)),  # past ssize_t: still our limit, not Python's OverflowError
        ("x", "ljust", (1001,)),
        ("x", "rjust", (10**9, "*")),
        ("x", "zfill", (10**30,)),
        ("ab", "join", (["ab"] * 400,)),  # 400 * 2 + 399 separators
        (",", "join", ("x" * 501,)),
        ("", "join", (["x" * 600, "y" * 401],)),
        ("," * 1000, "split", (",",)),  # 1001 pieces
        ("," * 1000, "rsplit", (",",)),
        ("a" * 999, "replace", ("", "bb")),
        ("a" * 500, "replace", ("a", "aaa")),
        ("ß" * 600, "upper", ()),
        ("ﬃ" * 400, "upper", ()),
    ],
)
def test_growth_is_refused_before_it_allocates(small: None, text: str, name: str, args: Any) -> None:
    error = refused(lambda: method(text, name, *args))
    assert (error.type, error.code) == ("limit", "sequence_too_long")
    assert error.params["limit"] == 1000


def test_results_at_the_limit_are_allowed(small: None) -> None:
    assert len(method("x", "center", 1000)) == 1000
    assert len(method("ab", "join", ["ab"] * 250)) == 250 * 2 + 249 * 2
    assert len(method("," * 999, "split", ",")) == 1000
    assert len(method("," * 999, "split", ",", 10)) == 11
    assert len(method("a" * 500, "replace", "a", "aaa", 250)) == 1000
    assert method("한국어" * 300, "upper") == "한국어" * 300  # non-ASCII, but it does not grow
    assert method("ß" * 500, "upper") == "SS" * 500


def test_replace_chains_stop_at_the_limit(small: None) -> None:
    text = "a"
    with pytest.raises(GradtraceError) as info:
        for _ in range(100):
            text = method(text, "replace", "", "b" * 10)
    assert info.value.code == "sequence_too_long"
    assert len(text) <= 1000


# -- str.format ----------------------------------------------------------------------------------

FORMAT_CASES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("", (), {}),
    ("plain text", (), {}),
    ("{{escaped}} {}", (1,), {}),
    ("{} {}", (1, "two"), {}),
    ("{1} {0} {1}", ("a", "b"), {}),
    ("{name}: {value:.4f}", (), {"name": "loss", "value": 0.123456}),
    ("{0!r} {0!s} {0}", ("é",), {}),
    ("{!r:>10}|", ("x",), {}),
    ("{:>8}|{:<8}|{:^8}|", (1, "ab", 2.5), {}),
    ("{:08.3f} {:+d} {: d} {:,} {:_d}", (3.14159, 5, 7, 1234567, 7654321), {}),
    ("{:e} {:E} {:g} {:G} {:%} {:.1%}", (12345.678, 0.00012, 1e-7, 1e20, 0.25, 0.123), {}),
    ("{:x} {:X} {:o} {:b} {:n}", (255, 255, 8, 5, 42), {}),
    ("{:=+8d}|", (-42,), {}),
    ("{:s}", ("text",), {}),
    ("{:999}", ("x",), {}),
    ("{:.99f}", (1 / 3,), {}),
    ("{}", ([1, [2, 3]],), {}),
    ("{}", ((1, "a"),), {}),
    ("{!r}", (["a", "b"],), {}),
    ("{}", (True,), {}),
    ("{:d}", (True,), {}),
    ("{}", (None,), {}),
    ("{x}{y}", (), {"x": 1, "y": 2}),
    ("{}", (10**70,), {}),
]


@pytest.mark.parametrize(("template", "args", "kwargs"), FORMAT_CASES)
def test_format_matches_python(run: None, template: str, args: tuple[Any, ...], kwargs: Any) -> None:
    assert format_template(template, args, kwargs, default_render) == template.format(*args, **kwargs)
    assert method(template, "format", *args, **kwargs) == template.format(*args, **kwargs)


def test_format_renders_tensors_and_numpy(run: None) -> None:
    value = torch.tensor(1.23456)
    assert format_template("{:.2f}", (value,), {}, default_render) == "1.23"
    assert format_template("{}", (torch.ones(2),), {}, default_render) == str(torch.ones(2))
    assert format_template("{:.3f} {}", (np.float64(0.5), np.int64(3)), {}, default_render) == "0.500 3"


@pytest.mark.parametrize(
    "template",
    [
        "{0.__class__}",
        "{.__class__}",
        "{0[0]}",
        "{[0]}",
        "{x.y}",
        "{x[y]}",
        "{0.real}",
        "{:{w}}",
        "{:{}}",
        "{:.{}f}",
        "{!a}",
        "{:1000}",
        "{:.100f}",
        "{:x<5}",  # a fill character: not in FORMAT_SPEC
        "{:%Y}",
        "{ 0}",
        "{0-1}",
    ],
)
def test_format_refuses_access_and_dynamic_specs(run: None, template: str) -> None:
    error = refused(lambda: format_template(template, (1,), {"x": 1, "w": 5}, default_render))
    assert (error.type, error.code) == ("not_allowed", "format_not_allowed")


def test_format_refuses_before_rendering_anything() -> None:
    calls: list[Any] = []

    def render(value: Any, conversion: str, spec: str) -> str:
        calls.append(value)
        return str(value)

    with pytest.raises(GradtraceError):
        format_template("{} {0.__class__}", (1,), {}, render)
    assert calls == []


@pytest.mark.parametrize(
    ("template", "args", "kwargs", "kind"),
    [
        ("{}{0}", (1,), {}, "ValueError"),
        ("{0}{}", (1,), {}, "ValueError"),
        ("{5}", (1,), {}, "IndexError"),
        ("{} {}", (1,), {}, "IndexError"),
        ("{x}", (1,), {}, "KeyError"),
        ("{99999999999999999999}", (1,), {}, "ValueError"),
        ("{", (), {}, "ValueError"),
        ("}", (), {}, "ValueError"),
        ("{!}", (1,), {}, "ValueError"),
        ("{:d}", ("a",), {}, "ValueError"),
        ("{:.2f}", (torch.ones(2),), {}, "TypeError"),
    ],
)
def test_format_errors_are_pythons(run: None, template: str, args: Any, kwargs: Any, kind: str) -> None:
    with pytest.raises(Exception) as python:
        template.format(*args, **kwargs)
    assert type(python.value).__name__ == kind
    python_failure(lambda: format_template(template, args, kwargs, default_render), kind)


def test_format_needs_a_str_template(run: None) -> None:
    python_failure(lambda: STR_METHODS["format"](5, (), {}), "TypeError")


def test_format_result_is_bounded_as_it_grows(small: None) -> None:
    text = "a" * 400
    assert len(format_template("{}{}", (text, text), {}, default_render)) == 800
    for template, args in [("{}{}{}", (text, text, text)), ("{:>999}{:>999}", (1, 2)), ("{0}" * 3, (text,))]:
        error = refused(partial(format_template, template, args, {}, default_render))
        assert error.code == "sequence_too_long"


def test_default_render_sizes_lists_before_str(small: None) -> None:
    refused(lambda: default_render([[0] * 10] * 200, "", ""))
    refused(lambda: default_render(["x" * 500] * 3, "", ""))  # three items, 1500 characters
    refused(lambda: default_render([["x" * 500]] * 3, "r", ""))  # a shared row counted each time
    refused(lambda: default_render({"k": ["x" * 100] * 10}, "", ""))  # dicts and sets too
    refused(lambda: default_render({("x" * 300,) * 4}, "", ""))
    assert default_render(["ab", "cd"], "", "") == "['ab', 'cd']"
    assert default_render({"a": [1, (2, "b")]}, "r", "") == "{'a': [1, (2, 'b')]}"


def test_default_render_prints_a_list_inside_itself_as_python_does(run: None) -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert default_render(loop, "", "") == "[1, [...]]"
    assert text_size(loop, 1000) == len("[1, [...]]") + 2  # one separator more than Python prints


def test_default_render_allows_a_spec_only_on_simple_values(run: None) -> None:
    error = refused(lambda: default_render([1], "", ">5"))
    assert error.params["spec"] == ">5"
    assert default_render(3, "s", ">3") == "  3"
    assert default_render("é", "r", "") == "'é'"


def test_the_callers_render_is_used(run: None) -> None:
    seen: list[tuple[Any, str, str]] = []

    def render(value: Any, conversion: str, spec: str) -> str:
        seen.append((value, conversion, spec))
        return "<v>"

    handler = format_method(render)
    assert handler("{0} {0!r} {x:>5}", (1,), {"x": 2}) == "<v> <v> <v>"
    assert seen == [(1, "", ""), (1, "r", ""), (2, "", ">5")]
    seen.clear()
    assert percent_format("%s %r %-6s|", (1, 2, 3), render) == "<v> <v> <v>   |"
    assert seen == [(1, "s", ""), (2, "r", ""), (3, "s", "")]


# -- %-formatting --------------------------------------------------------------------------------

PERCENT_CASES: list[tuple[str, Any]] = [
    ("plain", ()),
    ("100%%", ()),
    ("%s", 5),
    ("%s", "text"),
    ("%s", [1, 2]),
    ("%s", ((1, 2),)),
    ("%s and %r", ("a", "b")),
    ("%r", ("é",)),
    ("%d %i", (3, -4)),
    ("%d", 3.7),
    ("%d", True),
    ("%5d|%-5d|%05d|%+d|% d", (1, 2, 3, 4, 5)),
    ("%.3f %10.2f %-10.1f|", (3.14159, 2.5, 1.25)),
    ("%f %F", (1e10, float("inf"))),
    ("%e %E %.2e", (12345.678, 0.000123, 1.5)),
    ("%g %G %#g", (1e-10, 1e20, 1.0)),
    ("%x %X %#x %#o %o", (255, 255, 255, 8, 8)),
    ("%c%c", (65, "z")),
    ("%.2s|%5s|%-5s|", ("abc", "ab", "ab")),
    ("%(name)s = %(value).2f", {"name": "loss", "value": 0.12345}),
    ("%(a)s %(a)d", {"a": 1}),
    ("%(a(b))s", {"a(b)": 1}),
    ("%s %(a)s", {"a": 1}),
    ("hello", [1]),
    ("hello", {}),
    ("%ld", 3),
    ("%.f", 2.5),
    ("%999d|", 1),
    ("%.99f", 1 / 3),
    ("%d", 10**70),
    ("%d", np.int64(7)),
    ("%.2f", np.float32(0.5)),
    ("%s", None),
]


@pytest.mark.parametrize(("template", "values"), PERCENT_CASES)
def test_percent_matches_python(run: None, template: str, values: Any) -> None:
    assert percent_format(template, values, default_render) == template % values


def test_percent_with_tensors(run: None) -> None:
    value = torch.tensor(2.5)
    assert percent_format("%.2f %d", (value, torch.tensor(3)), default_render) == "2.50 3"
    assert percent_format("%s", torch.ones(2), default_render) == str(torch.ones(2))


@pytest.mark.parametrize(
    ("template", "values", "kind"),
    [
        ("%d", "x", "TypeError"),
        ("%x", 3.0, "TypeError"),
        ("%s %s", (1,), "TypeError"),
        ("%s", (1, 2), "TypeError"),
        ("hello", 5, "TypeError"),
        ("%(a)s", {}, "KeyError"),
        ("%(a)s", 5, "TypeError"),
        ("%(a)s", [1], "TypeError"),
        ("%(a)s %s", {"a": 1}, "TypeError"),
        ("%", (), "ValueError"),
        ("%5", 1, "ValueError"),
        ("%(a", {}, "ValueError"),
        ("%c", "ab", "TypeError"),
        ("%c", 10**7, "OverflowError"),
        ("%d", float("nan"), "ValueError"),
        ("%d", float("inf"), "OverflowError"),
        ("%f", torch.ones(3), "ValueError"),
    ],
)
def test_percent_errors_are_pythons(run: None, template: str, values: Any, kind: str) -> None:
    with pytest.raises(Exception) as python:
        template % values
    assert type(python.value).__name__ == kind
    python_failure(lambda: percent_format(template, values, default_render), kind)


@pytest.mark.parametrize(
    ("template", "spec"),
    [
        ("%*d", "%*"),
        ("%.*f", "%.*"),
        ("%1000d", "%1000d"),
        ("%.100f", "%.100f"),
        ("%a", "%a"),
        ("%u", "%u"),
        ("%y", "%y"),
        ("%5%", "%5%"),
        ("%-%", "%-%"),
        ("x %(a)5%", "%(a)5%"),
    ],
)
def test_percent_refuses_what_it_does_not_bound(run: None, template: str, spec: str) -> None:
    error = refused(lambda: percent_format(template, {"a": 1}, default_render))
    assert (error.type, error.code, error.params["spec"]) == ("not_allowed", "format_not_allowed", spec)


def test_percent_result_is_bounded_as_it_grows(small: None) -> None:
    text = "a" * 400
    assert len(percent_format("%s%s", (text, text), default_render)) == 800
    for template, values in [
        ("%s%s%s", (text, text, text)),
        ("%999d%999d", (1, 2)),
        ("%s", [[0] * 10] * 200),
    ]:
        error = refused(partial(percent_format, template, values, default_render))
        assert error.code == "sequence_too_long"


def test_percent_needs_a_str_template(run: None) -> None:
    python_failure(lambda: percent_format(5, (), default_render), "TypeError")  # type: ignore[arg-type]
