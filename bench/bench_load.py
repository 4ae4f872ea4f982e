"""Load run: requests/s and p50/p99 latency of POST /api/graph at 1, 10 and 50 clients.

Starts its own ``gradtrace serve`` on a free local port (or uses ``--url``, which must
be 127.0.0.1/localhost), sends every curriculum example once to warm up, then keeps N
clients busy for ``--seconds`` per level, each sending the examples round-robin.

    .venv/bin/python bench/bench_load.py                 # 1, 10, 50 clients, 5 s each
    .venv/bin/python bench/bench_load.py --levels 50 --seconds 10

Repeats are answered from the server's result cache: that is the classroom case
(a class opening the same examples), and the figure this prints.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]


def examples() -> list[dict[str, object]]:
    from gradtrace.core.curriculum import examples as load

    return [
        {"source": e["source"], "device": "cpu", **({"output": e["output"]} if e.get("output") else {})}
        for e in load()
        if str(e.get("device", "cpu")) == "cpu"
    ]


def cpu_seconds(pid: int | None) -> float:
    """CPU time of a process so far (on a shared machine, CPU per request is the fair figure)."""
    if pid is None:
        return float("nan")
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def local_server(workers: int) -> Iterator[tuple[str, int]]:
    cmd = [sys.executable, "-m", "gradtrace", "serve", "--port", "0", "--workers", str(workers)]
    proc = subprocess.Popen(cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", proc.stdout.readline())
        if not match:
            raise SystemExit("the server did not start")
        yield match.group(1).rstrip("/"), proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


async def wait_healthy(client: httpx.AsyncClient, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.get("/api/health")).json()["status"] == "ok":
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.3)
    raise SystemExit("the server did not become healthy")


async def level(
    client: httpx.AsyncClient, bodies: list[dict[str, object]], clients: int, seconds: float, pid: int | None
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def one_client(offset: int) -> None:
        nonlocal errors
        i = offset
        while time.perf_counter() < stop:
            started = time.perf_counter()
            response = await client.post("/api/graph", json=bodies[i % len(bodies)])
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200  # a few examples show errors on purpose
            i += 1

    began, cpu, mine = time.perf_counter(), cpu_seconds(pid), time.process_time()
    await asyncio.gather(*(one_client(k) for k in range(clients)))
    elapsed, cpu = time.perf_counter() - began, cpu_seconds(pid) - cpu
    mine = time.process_time() - mine
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "clients": clients,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "errors": errors,
        "cpu_ms": cpu * 1000 / max(1, len(latencies)),
        "client_ms": mine * 1000 / max(1, len(latencies)),
    }


async def run(url: str, levels: list[int], seconds: float, pid: int | None) -> list[dict[str, float]]:
    bodies = examples()
    limits = httpx.Limits(max_connections=max(levels), max_keepalive_connections=max(levels))
    # httpx writes headers and body separately; without TCP_NODELAY, Nagle + the server's
    # delayed ACK add 40 ms to every request (browsers and curl do not do this)
    transport = httpx.AsyncHTTPTransport(limits=limits,
                                         socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=60) as client:
        await wait_healthy(client)
        for body in bodies:  # warm-up: every example once
            await client.post("/api/graph", json=body)
        return [await level(client, bodies, n, seconds, pid) for n in levels]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running server on this machine (default: start one)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the server it starts")
    parser.add_argument("--levels", default="1,10,50", help="concurrent clients, comma-separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each level")
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]
    if args.url and urlparse(args.url).hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("bench_load only drives a server on this machine (127.0.0.1)")
    if args.url:
        rows = asyncio.run(run(args.url.rstrip("/"), levels, args.seconds, None))
    else:
        with local_server(args.workers) as (url, pid):
            rows = asyncio.run(run(url, levels, args.seconds, pid))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'clients':>8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8} "
          f"{'server CPU ms/req':>18} {'client CPU ms/req':>18}")
    for row in rows:
        print(f"{row['clients']:>8} {row['requests']:>9} {row['rps']:>8.0f} {row['p50_ms']:>8.1f} "
              f"{row['p99_ms']:>8.1f} {row['errors']:>8} {row['cpu_ms']:>18.2f} {row['client_ms']:>18.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
