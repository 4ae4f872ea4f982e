"""The resource budget of one run: steps, loop iterations, elements, flops, output, time.

Everything is counted *before* the work it stands for, so a hostile program
stops at the limit instead of after allocating past it.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from gradtrace.core.errors import GradtraceError
from gradtrace.core.limits import DEFAULT_LIMITS, Limits


def limit_error(what: str, size: int | float, limit: int | float) -> GradtraceError:
    """A limit reached ends the run: no more program code may run, ``finally`` blocks included."""
    current = _STATE.get()
    if current is not None:
        current.budget.exhaust()
    return GradtraceError("limit", what, {"size": size, "limit": limit})


TRACE_STEPS = 8  # the tracer's work for one recorded op, in interpreter steps (measured: bench_sandbox)


@dataclass
class Budget:
    limits: Limits
    steps: int = 0
    loops: int = 0
    elements: int = 0
    flops: int = 0
    printed_chars: int = 0
    deadline: float = field(default=0.0)

    max_steps: int = 0
    exhausted: bool = False
    calls: int = 0  # program function calls in progress (recursion depth)
    graph_ops: int = 0  # ops the tracer has recorded so far (charged as they appear)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.limits.wall_seconds
        self.max_steps = self.limits.steps  # read on every step: one attribute, not two

    def exhaust(self) -> None:
        """After a limit error every further step fails at once, whoever catches what."""
        self.exhausted = True
        self.max_steps = -1

    def enter_call(self, name: str) -> None:
        """A program function is about to run: charge the call and its depth first."""
        if self.calls >= self.limits.call_depth:
            self.exhaust()
            params = {"name": name, "limit": self.limits.call_depth}
            raise GradtraceError("limit", "recursion_too_deep", params)
        self.calls += 1
        self.step()

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > self.max_steps:
            raise limit_error("too_many_steps", self.steps, self.limits.steps)
        if self.steps & 0x3FF == 0:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise limit_error("too_slow", self.limits.wall_seconds, self.limits.wall_seconds)

    def loop(self) -> None:
        self.loops += 1
        if self.loops > self.limits.loop_iterations:
            raise limit_error("too_many_iterations", self.loops, self.limits.loop_iterations)
        self.step()

    def expect(self, iterations: int, steps: int) -> None:
        """A loop that cannot stop early will need this much: refuse it now, not at the end."""
        if self.loops + iterations > self.limits.loop_iterations:
            raise limit_error("too_many_iterations", self.loops + iterations, self.limits.loop_iterations)
        if self.steps + steps > self.max_steps:
            raise limit_error("too_many_steps", self.steps + steps, self.limits.steps)

    def tensor(self, numel: int) -> None:
        """A tensor of ``numel`` elements is about to be created."""
        if numel > self.limits.tensor_elements:
            raise limit_error("tensor_too_large", numel, self.limits.tensor_elements)
        if self.elements + numel > self.limits.total_elements:
            raise limit_error("memory_budget", self.elements + numel, self.limits.total_elements)

    def created(self, numel: int) -> None:
        """Count a tensor that exists now (checked before, counted after)."""
        self.tensor(numel)
        self.elements += numel

    def work(self, flops: int) -> None:
        if self.flops + flops > self.limits.flops:
            raise limit_error("too_much_work", self.flops + flops, self.limits.flops)
        self.flops += flops

    def graph(self, ops: int, elements: int) -> None:
        """The tracer recorded ``ops`` ops keeping ``elements`` elements of values so far.

        Its work (walk, hooks, summaries, JSON) and memory (each kept value, and the gradient
        backward makes of it) follow these two numbers, so they are charged while the program
        runs: a graph too big to trace stops here, not after the worker has spent its time.
        """
        new = ops - self.graph_ops
        if new > 0:
            self.graph_ops = ops
            if ops > self.limits.graph_nodes:
                raise limit_error("graph_too_big", ops, self.limits.graph_nodes)
            self.step(TRACE_STEPS * new)
        if elements > self.limits.graph_elements:
            raise limit_error("graph_values_too_big", elements, self.limits.graph_elements)

    def print(self, chars: int) -> None:
        self.printed_chars += chars
        if self.printed_chars > self.limits.print_chars:
            raise limit_error("print_too_long", self.printed_chars, self.limits.print_chars)


@dataclass
class RunState:
    """What curated functions need from the run they are part of."""

    budget: Budget
    device: str
    printed: list[str] = field(default_factory=list)
    observer: Any = None
    backward_calls: int = 0
    np_rng: Any = None
    py_rng: Any = None  # the program's `random`: its own generator, never the process's
    classes: dict[type, Any] = field(default_factory=dict)  # the program's classes -> ClassInfo
    active: bool = True  # program code runs only while its run is in progress (or resumed)
    notes: list[str] = field(default_factory=list)
    ids: dict[int, int] = field(default_factory=dict)  # id(x) -> the small number `id(x)` shows


_STATE: ContextVar[RunState | None] = ContextVar("gradtrace_run_state", default=None)


def state() -> RunState:
    current = _STATE.get()
    if current is None:  # a facade used outside ``execute``
        raise GradtraceError("runtime", "internal")
    return current


def budget() -> Budget:
    return state().budget


def current_limits() -> Limits:
    """The limits of the run in progress (the defaults outside one): errors report the real limit."""
    current = _STATE.get()
    return DEFAULT_LIMITS if current is None else current.budget.limits


def charge_graph() -> None:
    """Charge what the tracer watching this run has recorded since the last call."""
    run = state()
    if run.observer is not None:
        run.budget.graph(*run.observer.recorded())


def current() -> RunState | None:
    return _STATE.get()


def enter(run: RunState) -> Any:
    return _STATE.set(run)


def leave(token: Any) -> None:
    _STATE.reset(token)
