"""Load run: requests/s and p50/p99 latency of POST /api/graph at 1, 10 and 50 clients.

Starts its own ``gradtrace serve`` on a free local port (or uses ``--url``, which must
be 127.0.0.1/localhost), opens one keep-alive connection per client, sends every
curriculum example once to warm up, then keeps N clients busy for ``--seconds`` per
level, each sending the examples round-robin.

    .venv/bin/python bench/bench_load.py                 # 1, 10, 50 clients, 5 s each
    .venv/bin/python bench/bench_load.py --levels 50 --seconds 10
    .venv/bin/python bench/bench_load.py --fresh         # every request a new program run
    .venv/bin/python bench/bench_load.py --fresh --against 19050f2~1 --levels 10 --rounds 3

Repeats are answered from the server's result cache: that is the classroom case
(a class opening the same examples), and the figure the target is set for:
>= 300 requests/s and p99 < 100 ms at 50 clients on a 2-core machine. ``--fresh``
gives every request its own seed, so each one runs in a worker: the figure for
programs nobody has sent before.

``--against REV`` starts a second server from a git worktree of ``REV`` (same ``.venv``) and
runs the levels on both in turns, ``--rounds`` times, so a slow spell of a shared machine
falls on both; it prints each round and the median ratio of requests per second.

The client is ``load_client.py`` (raw asyncio streams, about 0.1 ms of CPU per
request) because the server and the client share this machine's cores; it prints
its own CPU per request next to the server's, so the split is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_client import Connection, Tally, drive, encode_post

ROOT = Path(__file__).resolve().parents[1]
TARGET_RPS, TARGET_P99_MS, TARGET_CLIENTS = 300, 100, 50


def examples() -> list[dict[str, object]]:
    from gradtrace.core.curriculum import examples as load

    return [
        {"source": e["source"], "device": "cpu", **({"output": e["output"]} if e.get("output") else {})}
        for e in load()
        if str(e.get("device", "cpu")) == "cpu"
    ]


def cpu_seconds(pid: int | None) -> float:
    """CPU time of a process and its finished children (on a shared machine, the fair figure)."""
    if pid is None:
        return float("nan")
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int | None) -> float:
    """CPU of the server and its live workers: with --fresh the workers do the work."""
    if pid is None:
        return float("nan")
    total = cpu_seconds(pid)
    for child in _descendants(pid):
        with suppress(OSError):  # a worker recycled meanwhile
            total += cpu_seconds(child)
    return total


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = []
        for task in Path(f"/proc/{parent}/task").glob("*"):  # a child may come from any thread
            with suppress(OSError):
                kids += [int(k) for k in (task / "children").read_text(encoding="ascii").split()]
        found += kids
        todo += kids
    return found


@contextmanager
def local_server(workers: int, *flags: str, tree: Path = ROOT) -> Iterator[tuple[str, int]]:
    cmd = [sys.executable, "-m", "gradtrace", "serve", "--port", "0", "--workers", str(workers), *flags]
    env = {**os.environ, "PYTHONPATH": str(tree / "backend")}
    proc = subprocess.Popen(
        cmd, cwd=tree, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", proc.stdout.readline())
        if not match:
            raise SystemExit("the server did not start")
        yield match.group(1).rstrip("/"), proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def wait_healthy(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=5) as reply:
                if b'"status":"ok"' in reply.read():
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not become healthy")


def requests_for(host: str, bodies: list[dict[str, object]], fresh: bool, count: int) -> list[bytes]:
    """Pre-encoded requests; with ``fresh``, ``count`` of them, each with a seed of its own."""
    if not fresh:
        return [encode_post(host, "/api/graph", body) for body in bodies]
    base = time.time_ns() % 10**12  # never a seed the server has cached before
    return [encode_post(host, "/api/graph", {**bodies[i % len(bodies)], "seed": base + i})
            for i in range(count)]


async def level(url: str, bodies: list[dict[str, object]], clients: int, seconds: float,
                pid: int | None, fresh: bool) -> dict[str, float]:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    connections = [await Connection.open(host, port) for _ in range(clients)]
    hostport = f"{host}:{port}"
    warm = [encode_post(hostport, "/api/graph", body) for body in bodies]
    await asyncio.gather(*(c.request(warm[k % len(warm)]) for k, c in enumerate(connections)))
    raw = requests_for(hostport, bodies, fresh, count=int(seconds * 5000))
    began, cpu, mine = time.perf_counter(), tree_cpu_seconds(pid), time.process_time()
    tally = await drive(connections, raw, seconds)
    elapsed, cpu = time.perf_counter() - began, tree_cpu_seconds(pid) - cpu
    mine = time.process_time() - mine
    for conn in connections:
        await conn.close()
    return summarize(tally, clients, elapsed, cpu, mine)


def summarize(tally: Tally, clients: int, elapsed: float, cpu: float, mine: float) -> dict[str, float]:
    latencies = tally.latencies
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    n = max(1, len(latencies))
    return {
        "clients": clients,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "ok": tally.statuses.get(200, 0),
        "user_errors": tally.statuses.get(400, 0),  # some examples show an error on purpose
        "failures": sum(v for k, v in tally.statuses.items() if k not in (200, 400)),
        "cpu_ms": cpu * 1000 / n,
        "client_ms": mine * 1000 / n,
    }


async def run(url: str, levels: list[int], seconds: float, pid: int | None,
              fresh: bool) -> list[dict[str, float]]:
    bodies = examples()
    return [await level(url, bodies, n, seconds, pid, fresh) for n in levels]


def report(rows: list[dict[str, float]], fresh: bool) -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"{'every request a new program (--fresh)' if fresh else 'repeats served from the result cache'}")
    print(f"{'clients':>8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'200':>6} {'400':>6} "
          f"{'other':>6} {'server CPU ms/req':>18} {'client CPU ms/req':>18}")
    for row in rows:
        print(f"{row['clients']:>8} {row['requests']:>9} {row['rps']:>8.0f} {row['p50_ms']:>8.1f} "
              f"{row['p99_ms']:>8.1f} {row['ok']:>6} {row['user_errors']:>6} {row['failures']:>6} "
              f"{row['cpu_ms']:>18.2f} {row['client_ms']:>18.2f}")
    target = [r for r in rows if r["clients"] == TARGET_CLIENTS]
    if target and not fresh:
        r = target[0]
        met = r["rps"] >= TARGET_RPS and r["p99_ms"] < TARGET_P99_MS and r["failures"] == 0
        print(f"target at {TARGET_CLIENTS} clients (>= {TARGET_RPS} req/s, p99 < {TARGET_P99_MS} ms, "
              f"no failures): {'met' if met else 'NOT met'} ({r['rps']:.0f} req/s, p99 {r['p99_ms']:.1f} ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running server on this machine (default: start one)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the server it starts")
    parser.add_argument("--levels", default="1,10,50", help="concurrent clients, comma-separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each level")
    parser.add_argument("--fresh", action="store_true", help="a new seed per request: no cache hits")
    parser.add_argument("--against", help="a git revision to compare with, in turns (e.g. a tag)")
    parser.add_argument("--rounds", type=int, default=3, help="turns with --against")
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]
    if args.against:
        compare(args, levels)
        return 0
    if args.url and urlparse(args.url).hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("bench_load only drives a server on this machine (127.0.0.1)")
    if args.url:
        wait_healthy(args.url.rstrip("/"))
        rows = _run_loop(run(args.url.rstrip("/"), levels, args.seconds, None, args.fresh))
    else:
        with local_server(args.workers) as (url, pid):
            wait_healthy(url)
            rows = _run_loop(run(url, levels, args.seconds, pid, args.fresh))
    report(rows, args.fresh)
    return 0


@contextmanager
def worktree(revision: str) -> Iterator[Path]:
    """A checkout of ``revision`` beside this one, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="gradtrace-rev-"))
    git = ["git", "-C", str(ROOT)]
    add = [*git, "worktree", "add", "--detach", str(path), revision]
    subprocess.run(add, check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(path)], check=False, capture_output=True)


def compare(args: argparse.Namespace, levels: list[int]) -> None:
    """This tree against ``--against``, level by level, in turns."""
    ratios: dict[int, list[float]] = {n: [] for n in levels}
    with worktree(args.against) as other, local_server(args.workers) as (url, pid), local_server(
        args.workers, tree=other
    ) as (other_url, other_pid):
        wait_healthy(url)
        wait_healthy(other_url)
        for turn in range(args.rounds):
            now = _run_loop(run(url, levels, args.seconds, pid, args.fresh))
            then = _run_loop(run(other_url, levels, args.seconds, other_pid, args.fresh))
            print(f"round {turn + 1}: this tree, then {args.against}")
            report(now + then, args.fresh)
            for a, b in zip(now, then, strict=True):
                ratios[int(a["clients"])].append(a["rps"] / max(b["rps"], 1e-9))
    for clients, values in ratios.items():
        print(f"{clients} clients: this tree / {args.against} requests per second = "
              f"{statistics.median(values):.2f} (median of {len(values)} rounds)")


def _run_loop(coro: object) -> list[dict[str, float]]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type]


if __name__ == "__main__":
    raise SystemExit(main())
