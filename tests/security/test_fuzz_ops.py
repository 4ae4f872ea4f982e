"""Fuzzing the op surface: every allowed torch function and tensor method, on tensors of
random shapes and dtypes, with random extra arguments.

The property: the op is refused before it runs (a ``GradtraceError``), or it completes
within what the budget charged for it: every tensor the program holds afterwards was
counted (no tensor is larger than all the elements the budget saw made), the run took
little CPU, and resident memory grew by no more than what the counted elements explain.
The ops and their arguments are drawn across the whole surface (``surface.py``), so a torch
upgrade that adds an op without a meta kernel, or with one that misstates its output, is met
here before a student meets it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import torch
from address_space import address_space_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtrace.core import DEFAULT_LIMITS, GradtraceError
from gradtrace.run.surface import tensor_methods, torch_functions

LIMITS = DEFAULT_LIMITS.with_overrides(wall_seconds=3.0)
FUZZ = settings(
    max_examples=int(os.environ.get("GRADTRACE_FUZZ_OPS", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_CPU_SECONDS = 1.0
SLACK = 64 * 2**20  # allocator and interpreter noise on top of the counted elements
SAFETY_NET = 3 * 2**30
PAGE = os.sysconf("SC_PAGE_SIZE")

FUNCTIONS = sorted(torch_functions())
METHODS = sorted(tensor_methods())
DTYPES = ["float32", "float64", "int64", "bool"]
DIMS = st.one_of(st.sampled_from([0, 1, 2, 3, 5]), st.sampled_from([64, 600, 3000]))
SHAPES = st.lists(DIMS, max_size=4).filter(lambda s: _numel(s) <= 2_000_000)
POSITIONAL = st.one_of(
    st.integers(min_value=-3, max_value=4).map(str),
    st.sampled_from(["0.5", "-1.5", "True", "False", "None", "b", "(2, 3)", "[0, 1]", "'mean'", "1000000"]),
)
KEYWORD = st.sampled_from(
    ["dim=0", "dim=-1", "keepdim=True", "p=2", "k=2", "diagonal=1", "dtype=torch.float64"]
)


def _numel(shape: list[int]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total


def _tensor(name: str, shape: list[int], dtype: str, grad: bool) -> str:
    made = f"{name} = (torch.rand({shape}) * 4 - 2).to(torch.{dtype})"
    if grad and dtype.startswith("float"):
        made += ".requires_grad_()"
    return made


@st.composite
def programs(draw: st.DrawFn) -> str:
    a_shape, b_shape = draw(SHAPES), draw(st.one_of(SHAPES, st.just([])))
    lines = [
        _tensor("a", a_shape, draw(st.sampled_from(DTYPES)), draw(st.booleans())),
        _tensor("b", b_shape, draw(st.sampled_from(DTYPES)), draw(st.booleans())),
    ]
    extras = ", ".join(
        draw(st.lists(POSITIONAL, max_size=3)) + draw(st.lists(KEYWORD, max_size=2, unique=True))
    )
    if draw(st.booleans()):
        call = f"torch.{draw(st.sampled_from(FUNCTIONS))}(a{', ' if extras else ''}{extras})"
    else:
        call = f"a.{draw(st.sampled_from(METHODS))}({extras})"
    lines.append(f"r = {call}")
    return "\n".join(lines)


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


@pytest.fixture(scope="module", autouse=True)
def address_space_net() -> Iterator[None]:
    with address_space_limit(SAFETY_NET):
        yield


def _tensors(value: object) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for item in value[:64]:
            yield from _tensors(item)


def run_charged(source: str) -> None:
    from gradtrace.run import execute
    from gradtrace.sandbox import check

    before, cpu = _rss(), time.process_time()
    try:
        result = execute(check(source, LIMITS), device="cpu", seed=0, limits=LIMITS)
    except GradtraceError as error:
        assert error.type in {"not_allowed", "limit", "runtime"}, error.to_dict("en")
        assert error.to_dict("ko")["message"].strip()
        return
    finally:
        cpu = time.process_time() - cpu
    assert cpu < MAX_CPU_SECONDS, f"{cpu:.2f} s of CPU"
    assert result.run is not None
    counted = result.run.budget.elements
    for value in result.variables.values():
        for tensor in _tensors(value):
            assert tensor.numel() <= counted, f"a tensor of {tensor.numel()} elements; counted {counted}"
    growth = _rss() - before
    assert growth <= 8 * counted + SLACK, f"memory grew {growth >> 20} MiB for {counted} counted elements"


@pytest.fixture(scope="module", autouse=True)
def warm_up() -> None:
    run_charged("a = torch.ones(3, requires_grad=True)\nr = (a * 2).sum()\nr.backward()")


@FUZZ
@given(programs())
def test_random_ops_are_refused_or_charged(source: str) -> None:
    run_charged(source)
