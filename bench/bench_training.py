"""Training-loop benchmark: what tracing every pass and update of a long loop costs.

The loop is the curriculum's MLP (``nn-mlp-sgd``: Linear(4, 8), ReLU, Linear(8, 1),
MSELoss, SGD) trained for ``--iterations`` steps. Two paths, each timed bare and traced,
in turns (bare, traced, bare, traced, ...) so that a shared machine's slow spells fall
on both alike, after one untimed warm-up of each:

  - ``sandbox``: the web app's path. Bare is ``execute`` of the checked program without
    an observer; traced is ``trace_source`` (capture, every pass, updates, JSON dict)
    plus the JSON bytes.
  - ``python``: the Python API. Bare is the loop in plain torch; traced is the same loop
    inside ``gradtrace.capture()`` plus ``cap.trace(loss).to_json_bytes()``.

Prints the median of each (CPU time of the process, which a busy shared machine
disturbs far less than wall time; wall time beside it), the ratio traced / bare, and
the JSON's size. Targets: sandbox traced / bare <= 2 and JSON < 2 MB at 200 iterations.

    .venv/bin/python bench/bench_training.py [--iterations 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn, optim

import gradtrace
from gradtrace.core.curriculum import examples
from gradtrace.export import to_json_bytes
from gradtrace.pipeline import trace_source
from gradtrace.run import execute
from gradtrace.sandbox import check

LOOP = """
for step in range({n}):
    pred = model(x)
    loss = loss_fn(pred, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""


def mlp_source(iterations: int) -> str:
    """The curriculum's MLP and optimizer, its single step turned into a loop."""
    example = next(e for e in examples() if e["id"] == "nn-mlp-sgd")
    head: str = example["source"].split("\npred = model(x)")[0]
    return head + LOOP.format(n=iterations)


def sandbox_bare(source: str) -> Callable[[], int]:
    def run() -> int:
        execute(check(source))
        return 0

    return run


def sandbox_traced(source: str) -> Callable[[], int]:
    def run() -> int:
        return len(to_json_bytes(trace_source(source)))

    return run


def _python_loop(iterations: int, cap: object | None) -> tuple[torch.Tensor, nn.Module]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    x = torch.randn(16, 4)
    target = torch.randn(16, 1)
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    loss = torch.zeros(())
    for _ in range(iterations):
        pred = model(x)
        loss = loss_fn(pred, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss, model


def python_bare(iterations: int) -> Callable[[], int]:
    def run() -> int:
        _python_loop(iterations, None)
        return 0

    return run


def python_traced(iterations: int) -> Callable[[], int]:
    def run() -> int:
        with gradtrace.capture() as cap:
            loss, model = _python_loop(iterations, cap)
        graph = cap.trace(loss, dict(model.named_parameters()))
        return len(graph.to_json_bytes())

    return run


def timed(fn: Callable[[], int]) -> tuple[float, float, int]:
    """CPU seconds, wall seconds, and what ``fn`` returned (the JSON's size)."""
    cpu, wall = time.process_time(), time.perf_counter()
    size = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, size


def compare(name: str, bare: Callable[[], int], traced: Callable[[], int], repeat: int) -> float:
    bare()  # warm-up: imports, first allocations
    traced()
    cpu: dict[str, list[float]] = {"bare": [], "traced": []}
    wall: dict[str, list[float]] = {"bare": [], "traced": []}
    size = 0
    for _ in range(repeat):
        for variant, fn in (("bare", bare), ("traced", traced)):
            c, w, out = timed(fn)
            cpu[variant].append(c)
            wall[variant].append(w)
            size = out or size
    b, t = statistics.median(cpu["bare"]), statistics.median(cpu["traced"])
    wb, wt = statistics.median(wall["bare"]), statistics.median(wall["traced"])
    print(f"{name:8s} CPU: bare {b * 1000:7.1f} ms  traced {t * 1000:7.1f} ms  ratio {t / b:5.2f}x", end="")
    print(f"   (wall ratio {wt / wb:5.2f}x)   JSON {size / 1e6:6.3f} MB")
    return t / b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    source = mlp_source(args.iterations)
    print(f"MLP training loop, {args.iterations} iterations, median of {args.repeat} (in turns)")
    ratio = compare("sandbox", sandbox_bare(source), sandbox_traced(source), args.repeat)
    compare("python", python_bare(args.iterations), python_traced(args.iterations), args.repeat)
    size = len(to_json_bytes(trace_source(source)))
    ok = ratio <= 2 and size < 2_000_000
    print(f"targets (sandbox traced/bare <= 2, JSON < 2 MB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
