"""Fairness run: how long students wait while one client floods the server.

Starts its own ``gradtrace serve`` (2 workers) and runs three phases of
``--seconds`` each, 127.0.0.x only:

1. ``alone``: 10 students, each on an address of its own (127.0.0.10, .11, ...),
   send course examples (each with a new seed, so every one runs in a worker) and
   think 0.25 s between runs.
2. ``flood, own lines``: the same, while a flooder on 127.0.0.9 keeps 16 heavy
   programs in flight (2,000 traced backward passes: seconds of a worker each).
   Every client has its own line, and clients take turns for the workers.
3. ``flood, one line``: the same, with everyone on 127.0.0.1: clients of this
   machine share one first-come-first-served line, which is how one queue for
   all behaves.

Prints the students' p50/p99 latency and completed runs per phase, and what the
flooder got (finished runs, 429s).

    .venv/bin/python bench/bench_fairness.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import _run_loop, examples, local_server, wait_healthy
from load_client import Connection, Tally, encode_post

# 2,000 traced backward passes: seconds of a worker, within every limit but the clock
HEAVY = ("w = torch.randn(64, requires_grad=True)\nt = torch.randn(64)\nfor i in range(2000):\n"
         "    loss = ((w - t) ** 2).sum()\n    loss.backward()\n")
STUDENTS, FLOOD, THINK = 10, 16, 0.25


class Seeds:
    """A new seed for every request, so no run is answered from the cache."""

    def __init__(self) -> None:
        self.next = time.time_ns() % 10**12

    def __call__(self) -> int:
        self.next += 1
        return self.next


async def client_loop(conn: Connection, bodies: list[dict[str, object]], host: str, seen: Tally,
                      stop: float, think: float, seeds: Seeds) -> None:
    i = 0
    while time.perf_counter() < stop:
        raw = encode_post(host, "/api/graph", {**bodies[i % len(bodies)], "seed": seeds()})
        started = time.perf_counter()
        status, _ = await conn.request(raw)
        seen.add(status, time.perf_counter() - started)
        i += 1
        await asyncio.sleep(think if status != 429 else 0.5)


async def phase(url: str, seconds: float, flood: bool, shared: bool) -> tuple[Tally, Tally]:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    hostport, seeds = f"{host}:{port}", Seeds()
    students, flooder = Tally(), Tally()
    student_conns = [await Connection.open(host, port, "127.0.0.1" if shared else f"127.0.0.{10 + k}")
                     for k in range(STUDENTS)]
    flood_conns = [await Connection.open(host, port, "127.0.0.1" if shared else "127.0.0.9")
                   for _ in range(FLOOD if flood else 0)]
    stop = time.perf_counter() + seconds
    heavy: list[dict[str, object]] = [{"source": HEAVY}]
    tasks = [client_loop(c, examples(), hostport, students, stop, THINK, seeds) for c in student_conns]
    tasks += [client_loop(c, heavy, hostport, flooder, stop, 0.0, seeds) for c in flood_conns]
    await asyncio.gather(*tasks)
    for conn in student_conns + flood_conns:
        await conn.close()
    return students, flooder


def row(name: str, students: Tally, flooder: Tally) -> str:
    lat = sorted(students.latencies)
    cuts = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
    other = sum(v for k, v in students.statuses.items() if k not in (200, 400))
    ran = flooder.statuses.get(400, 0) + flooder.statuses.get(200, 0)
    flood = f"{ran:>9} {flooder.statuses.get(429, 0):>6}" if flooder.latencies else f"{'-':>9} {'-':>6}"
    p50, p99, worst = cuts[49] * 1000, cuts[98] * 1000, max(lat) * 1000
    return f"{name:<18} {len(lat):>6} {p50:>8.0f} {p99:>8.0f} {worst:>8.0f} {other:>6} {flood}"


async def run(url: str, seconds: float) -> list[str]:
    rows = []
    for name, flood, shared in (("alone", False, False), ("flood, own lines", True, False),
                                ("flood, one line", True, True)):
        students, flooder = await phase(url, seconds, flood, shared)
        rows.append(row(name, students, flooder))
        await asyncio.sleep(6)  # let the last heavy runs finish before the next phase
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each phase")
    args = parser.parse_args()
    with local_server(2, "--rate-limit", "0") as (url, _pid):
        wait_healthy(url)
        rows = _run_loop(run(url, args.seconds))
    print(f"{STUDENTS} students (think {THINK} s) and a flooder with {FLOOD} heavy programs in flight; "
          "2 workers; latencies of the students' runs")
    print(f"{'phase':<18} {'runs':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'other':>6} "
          f"{'flood ran':>9} {'429':>6}")
    for line in rows:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
