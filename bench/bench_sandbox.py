"""Time ``check`` and ``execute`` for every curriculum example that runs on the CPU.

Prints the median of ``--runs`` runs (default 50) per example and the totals, in
milliseconds. Examples that end in an error on purpose are timed up to that error.

    .venv/bin/python bench/bench_sandbox.py [--runs N] [--only ID ...] [--structured]

``--preflight`` times the curriculum and a 200-step training loop with the meta pre-flight on
and off, in turns. ``--structured`` times pairs of programs doing the same work, one flat and one written
with functions and classes, in turns (so a slow spell of a shared machine falls on both),
and prints the cost per interpreter step of each and their ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

from gradtrace.core import GradtraceError
from gradtrace.core.curriculum import examples
from gradtrace.run import execute
from gradtrace.sandbox import check

_FLAT_LOOP = """
x = torch.tensor(0.5, requires_grad=True)
total = x * 0
for i in range(200):
    a = x * i
    b = a + 1
    total = total + b * b
total.backward()
"""
_FUNCTION_LOOP = """
def term(x, i):
    a = x * i
    b = a + 1
    return b * b

x = torch.tensor(0.5, requires_grad=True)
total = x * 0
for i in range(200):
    total = total + term(x, i)
total.backward()
"""
_FLAT_MODEL = """
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
x = torch.randn(16, 4)
for step in range(30):
    loss = (model(x) ** 2).mean()
    loss.backward()
"""
_CLASS_MODEL = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

model = Net()
x = torch.randn(16, 4)
for step in range(30):
    loss = (model(x) ** 2).mean()
    loss.backward()
"""
PAIRS = [("loop", _FLAT_LOOP, _FUNCTION_LOOP), ("model", _FLAT_MODEL, _CLASS_MODEL)]
_TRAINING_200 = """
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
opt = optim.Adam(model.parameters(), lr=0.01)
x = torch.randn(64, 8)
y = torch.randn(64, 1)
for step in range(200):
    opt.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    opt.step()
"""


def _without_preflight() -> object:
    """Switch the meta pre-flight off (ops and layers), for timing its share."""
    from gradtrace.run import modules, preflight

    saved = (preflight._measure, modules._measure)
    preflight._measure = lambda *a, **k: ((), 0)  # type: ignore[assignment]
    modules._measure = lambda *a, **k: ((), 0)  # type: ignore[assignment]
    preflight._CACHE.clear()
    modules._CALLS.clear()
    return saved


def _restore(saved: object) -> None:
    from gradtrace.run import modules, preflight

    preflight._measure, modules._measure = saved  # type: ignore[misc]
    preflight._CACHE.clear()
    modules._CALLS.clear()


def bench_preflight(runs: int) -> None:
    """The whole curriculum and a 200-step training loop, with and without pre-flight, in turns."""
    programs = {"curriculum": [e["source"] for e in examples() if e.get("device", "cpu") == "cpu"],
                "training x200": [_TRAINING_200]}  # fmt: skip
    print(f"{'programs':<14} {'with ms':>9} {'without ms':>11} {'ratio':>6}   (median of {runs}, in turns)")
    for name, sources in programs.items():
        timings: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(runs):
            for enabled in (True, False):
                saved = None if enabled else _without_preflight()
                start = time.perf_counter()
                for source in sources:
                    with contextlib.suppress(GradtraceError):
                        execute(check(source), device="cpu", seed=0)
                timings[enabled].append(time.perf_counter() - start)
                if saved is not None:
                    _restore(saved)
        on, off = statistics.median(timings[True]), statistics.median(timings[False])
        print(f"{name:<14} {_ms(on):9.1f} {_ms(off):11.1f} {on / off:6.2f}", flush=True)


def _timed_steps(source: str) -> tuple[float, int]:
    """Seconds for check + execute, and the interpreter steps the run charged."""
    start = time.perf_counter()
    program = check(source)
    result = execute(program, device="cpu", seed=0)
    elapsed = time.perf_counter() - start
    return elapsed, result.run.budget.steps if result.run is not None else 1


def bench_structured(runs: int) -> None:
    header = f"{'pair':<8} {'flat us/step':>13} {'structured us/step':>19} {'ratio':>6}"
    print(f"{header}   (median of {runs}, in turns)")
    for name, flat, structured in PAIRS:
        flat_times: list[float] = []
        structured_times: list[float] = []
        for _ in range(runs):
            for source, into in ((flat, flat_times), (structured, structured_times)):
                seconds, steps = _timed_steps(source)
                into.append(seconds / steps * 1e6)
        a, b = statistics.median(flat_times), statistics.median(structured_times)
        print(f"{name:<8} {a:13.2f} {b:19.2f} {b / a:6.2f}", flush=True)


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def bench_one(example: dict, runs: int) -> tuple[float, float | None, str]:
    """Median check time, median execute time (None if check refuses), and the outcome."""
    source = example["source"]
    check_times: list[float] = []
    run_times: list[float] = []
    outcome = "ok"
    for _ in range(runs):
        start = time.perf_counter()
        try:
            program = check(source)
        except GradtraceError as error:
            check_times.append(time.perf_counter() - start)
            outcome = f"refused ({error.type})"
            continue
        check_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        try:
            execute(program, device="cpu", seed=0, output=example.get("output"))
        except GradtraceError as error:
            outcome = f"error ({error.type})"
        run_times.append(time.perf_counter() - start)
    return (
        statistics.median(check_times),
        statistics.median(run_times) if run_times else None,
        outcome,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs per example (median is reported)")
    parser.add_argument("--only", nargs="*", default=None, help="example ids to time")
    parser.add_argument("--structured", action="store_true", help="flat vs functions/classes, per step")
    parser.add_argument("--preflight", action="store_true", help="the meta pre-flight's share of run time")
    args = parser.parse_args(argv)
    if args.preflight:
        bench_preflight(args.runs)
        return 0
    if args.structured:
        bench_structured(args.runs)
        return 0

    chosen = [
        e for e in examples() if e.get("device", "cpu") == "cpu" and (not args.only or e["id"] in args.only)
    ]
    width = max(len(e["id"]) for e in chosen)
    print(f"{'example':<{width}}  {'check ms':>9}  {'execute ms':>10}  outcome   (median of {args.runs})")
    total_check = total_run = 0.0
    for example in chosen:
        check_s, run_s, outcome = bench_one(example, args.runs)
        total_check += check_s
        total_run += run_s or 0.0
        run_text = f"{_ms(run_s):10.3f}" if run_s is not None else f"{'-':>10}"
        print(f"{example['id']:<{width}}  {_ms(check_s):9.3f}  {run_text}  {outcome}", flush=True)
    label = f"total ({len(chosen)} examples)"
    print(f"{label:<{width}}  {_ms(total_check):9.3f}  {_ms(total_run):10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
