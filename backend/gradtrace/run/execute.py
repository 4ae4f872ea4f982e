"""``execute``: run a checked program and hand back its variables, output and spans.

This is the boundary: whatever happens inside (torch errors, Python errors,
RecursionError, MemoryError) leaves as one ``GradtraceError``, and global
torch state (RNG, grad mode) is as it was before.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from gradtrace.core.errors import GradtraceError, Span
from gradtrace.core.limits import DEFAULT_LIMITS, Limits
from gradtrace.run import budget
from gradtrace.run import messages as _messages  # noqa: F401  (registers the catalog)
from gradtrace.run.devices import resolve_device, rng_devices, seed_rngs
from gradtrace.run.explain import explain
from gradtrace.run.facades import FACADES
from gradtrace.run.functions import ProgramRaise
from gradtrace.run.interpreter import Interpreter, uncaught
from gradtrace.sandbox import Program


class RunObserver(Protocol):
    """What the tracer implements to watch a run (see docs/architecture.md)."""

    def assigned(self, name: str, value: object, span: Span) -> None: ...

    def function_entered(self, name: str) -> None: ...

    def function_exited(self) -> None: ...

    def recorded(self) -> tuple[int, int]: ...

    def backward(
        self,
        tensor: torch.Tensor,
        gradient: torch.Tensor | None,
        retain_graph: bool | None,
        span: Span | None,
    ) -> None: ...


@dataclass
class RunResult:
    variables: dict[str, object]
    printed: str
    output_name: str | None
    spans: dict[str, Span] = field(default_factory=dict)
    device: str = "cpu"
    backward_calls: int = 0
    notes: list[str] = field(default_factory=list)
    run: budget.RunState | None = field(default=None, repr=False)

    @contextmanager
    def resumed(self) -> Iterator[None]:
        """Host work that may run program code (the automatic backward through a program's
        ``autograd.Function``, its module hooks) runs inside the run again, with what is left
        of its budget; outside this block, program code refuses to run."""
        run = self.run
        if run is None:
            yield
            return
        token = budget.enter(run)
        run.active = True
        try:
            yield
        except GradtraceError as error:
            raise _clean(error) from None
        except ProgramRaise as raised:  # e.g. a program's Function.backward raising in the tracer's backward
            raise _clean(uncaught(raised)) from None
        finally:
            run.active = False
            budget.leave(token)


def execute(
    program: Program,
    *,
    device: str = "cpu",
    seed: int | None = 0,
    limits: Limits = DEFAULT_LIMITS,
    output: str | None = None,
    observer: RunObserver | None = None,
) -> RunResult:
    """Interpret ``program``; every failure is a ``GradtraceError`` with a span where known."""
    try:
        return _execute(program, device, seed, limits, output, observer)
    except GradtraceError as error:
        raise _clean(error) from None
    except (KeyboardInterrupt, SystemExit):
        raise  # the worker's own shutdown, not something the program did
    except BaseException as exc:  # anything else (a timeout signal's exception too) is this run's failure
        raise _clean(explain(exc)) from None


def _clean(error: GradtraceError) -> GradtraceError:
    """No live frames or chained exceptions leave the sandbox."""
    error.__traceback__ = None
    error.__context__ = None
    error.__cause__ = None
    return error


def _execute(
    program: Program,
    device: str,
    seed: int | None,
    limits: Limits,
    output: str | None,
    observer: RunObserver | None,
) -> RunResult:
    resolved = resolve_device(device)
    run = budget.RunState(
        budget.Budget(limits), resolved, observer=observer, np_rng=np.random.default_rng(seed)
    )
    presets: dict[str, object] = {**FACADES, "device": torch.device(resolved)}
    interpreter = Interpreter(program, run, presets)
    grad_enabled = torch.is_grad_enabled()
    print_options = dict(vars(torch._tensor_str.PRINT_OPTS))
    token = budget.enter(run)
    try:
        with torch.random.fork_rng(devices=rng_devices(resolved)), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if seed is not None:
                seed_rngs(seed)
            interpreter.run_program()
    finally:
        torch.set_grad_enabled(grad_enabled)
        vars(torch._tensor_str.PRINT_OPTS).update(print_options)  # torch.set_printoptions is per run
        run.active = False
        budget.leave(token)
    variables = interpreter.variables()
    return RunResult(
        variables=variables,
        printed="".join(run.printed),
        output_name=_output_name(output, variables, interpreter),
        spans={name: interpreter.spans[name] for name in variables if name in interpreter.spans},
        device=resolved,
        backward_calls=run.backward_calls,
        notes=sorted(set(run.notes)),
        run=run,
    )


def _output_name(output: str | None, variables: dict[str, object], interpreter: Interpreter) -> str | None:
    if output is None:
        return interpreter.default_output()
    if output not in variables:
        raise GradtraceError("runtime", "output_not_found", {"name": output})
    if not isinstance(variables[output], torch.Tensor):
        raise GradtraceError("runtime", "output_not_tensor", {"name": output})
    return output
