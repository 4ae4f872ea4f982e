"""Time ``check`` and ``execute`` for every curriculum example that runs on the CPU.

Prints the median of ``--runs`` runs (default 50) per example and the totals, in
milliseconds. Examples that end in an error on purpose are timed up to that error.

    .venv/bin/python bench/bench_sandbox.py [--runs N] [--only ID ...]
"""

from __future__ import annotations

import argparse
import statistics
import time

from gradtrace.core import GradtraceError
from gradtrace.core.curriculum import examples
from gradtrace.run import execute
from gradtrace.sandbox import check


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
    args = parser.parse_args(argv)

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
