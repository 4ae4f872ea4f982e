"""Stage 2: run a checked program with real torch, inside curated facades and a budget.

Public surface: ``execute(program, *, device, seed, limits, output, observer) -> RunResult``,
``current_span``, ``RunObserver``, ``available_devices()``, ``resolve_device()``.
"""

from gradtrace.run.devices import available_devices, resolve_device
from gradtrace.run.execute import RunObserver, RunResult, execute
from gradtrace.run.spans import current_span

__all__ = ["RunObserver", "RunResult", "available_devices", "current_span", "execute", "resolve_device"]
