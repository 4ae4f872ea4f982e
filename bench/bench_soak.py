"""Soak: a real ``gradtrace serve`` under 50 mixed clients for an hour (``--minutes`` for less).

The clients are what a public classroom server meets at once: students opening
curriculum examples (cached repeats) and running programs nobody sent before, hostile
programs from the security corpus, endless loops, slow clients that send half a request
and stop, and bodies over the size cap. First, a flood of ``--flood`` connections that
never finish their headers (as many as this process may open) shows they are all
closed within 30 s while a normal client is served.

Every minute it prints throughput, p50/p99 of the students' requests, worker restarts,
the server's and the workers' resident memory and open descriptors. The verdict at the
end: memory and descriptors flat after the first minutes, no 5xx, every answer typed.

    .venv/bin/python bench/bench_soak.py                 # one hour
    .venv/bin/python bench/bench_soak.py --minutes 5 --flood 20000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import multiprocessing
import random
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import wait_healthy

ROOT = Path(__file__).resolve().parents[1]
ROLES = {"curriculum": 14, "fresh": 10, "hostile": 8, "endless": 3, "slow": 10, "oversized": 5}
STUDENTS = ("curriculum", "fresh")
ENDLESS = "i = 0\nwhile True:\n    i = i + 1\n"
PARTIAL = b"GET /api/health HTTP/1.1\r\nHost: soak\r\n"


@dataclass
class Minute:
    """What the clients saw in one interval."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    untyped: list[str] = field(default_factory=list)
    no_answer: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)

    def count(self) -> int:
        return sum(self.statuses.values())


@dataclass
class Sample:
    parent_rss: int
    parent_fds: int
    worker_rss: int
    worker_fds: int


class Soak:
    def __init__(self, host: str, port: int, pid: int, think: float) -> None:
        self.host, self.port, self.pid, self.think = host, port, pid, think
        self.now = Minute()
        self.total = Minute()
        self.stop = False
        self.examples = [e for e in _examples() if e.get("device", "cpu") == "cpu"]
        corpus = json.loads((ROOT / "tests" / "security" / "hostile.json").read_text())
        self.hostile = [case["source"] for case in corpus["cases"]]

    # -- one request --------------------------------------------------------------------

    def body_for(self, role: str, rng: random.Random) -> bytes:
        if role == "curriculum":
            ex = rng.choice(self.examples)
            return json.dumps({"source": ex["source"], "output": ex.get("output")}).encode()
        if role == "fresh":
            ex = rng.choice(self.examples)
            return json.dumps({"source": ex["source"], "output": ex.get("output"),
                               "seed": rng.randrange(1, 10**9)}).encode()
        if role == "hostile":
            return json.dumps({"source": rng.choice(self.hostile)}).encode()
        if role == "endless":
            return json.dumps({"source": ENDLESS, "seed": rng.randrange(10**9)}).encode()
        return json.dumps({"source": "x = 1\n" * 40_000}).encode()  # oversized: 240 KB

    async def exchange(self, address: str, body: bytes) -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(self.host, self.port, local_addr=(address, 0),
                                                       limit=1 << 26)
        try:
            writer.write(b"POST /api/graph HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
                         b"Accept-Encoding: gzip\r\nConnection: close\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            return status, await reader.read()
        finally:
            writer.close()

    def record(self, role: str, status: int, body: bytes, seconds: float) -> None:
        for minute in (self.now, self.total):
            minute.statuses[(role, status)] += 1
            if role in STUDENTS and status == 200:
                minute.latencies.append(seconds)
        if status != 200:
            self.total.codes[f"{status} {_code(body)}"] += 1
        problem = _untyped(status, body)
        if problem:
            self.now.untyped.append(f"{role} {status}: {problem}")
            self.total.untyped.append(f"{role} {status}: {problem}")

    async def client(self, role: str, index: int) -> None:
        rng = random.Random(index)
        address = f"127.20.{index // 200}.{1 + index % 200}"
        await asyncio.sleep(rng.random() * self.think)
        while not self.stop:
            if role == "slow":
                await self.slow(address)
                continue
            started = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(self.exchange(address, self.body_for(role, rng)), 120)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                self.now.no_answer[f"{role}: {type(exc).__name__}"] += 1
                self.total.no_answer[f"{role}: {type(exc).__name__}"] += 1
            else:
                self.record(role, status, body, time.perf_counter() - started)
            await asyncio.sleep(rng.random() * 2 * self.think)

    async def slow(self, address: str) -> None:
        """Half a request, then silence: the server must close it with a typed 408."""
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(self.host, self.port, local_addr=(address, 0))
        writer.write(PARTIAL)
        try:
            reply = await asyncio.wait_for(reader.read(), 60)
        except (OSError, TimeoutError):
            reply = b""
        writer.close()
        status = int(reply[9:12]) if reply.startswith(b"HTTP/1.1 ") else 0
        body = reply.partition(b"\r\n\r\n")[2]
        self.record("slow", status, body, time.perf_counter() - started)

    # -- the server's side -------------------------------------------------------------

    def sample(self) -> Sample:
        workers = [w for child in _children(self.pid) for w in _children(child)]  # the forkserver's children
        return Sample(_rss(self.pid), _fds(self.pid), max((_rss(p) for p in workers), default=0),
                      max((_fds(p) for p in workers), default=0))


@contextlib.contextmanager
def local_server(workers: int, log: Path) -> Iterator[tuple[str, int]]:
    """``gradtrace serve`` on a free local port, its log (stderr) kept in ``log``."""
    cmd = [sys.executable, "-m", "gradtrace", "serve", "--port", "0", "--workers", str(workers)]
    with log.open("w") as sink:
        proc = subprocess.Popen(cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=sink)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "serving at" not in line:
            raise SystemExit("the server did not start")
        yield line.split("serving at ", 1)[1].split()[0].rstrip("/"), proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


async def run(args: argparse.Namespace) -> int:
    log = Path(tempfile.mkdtemp(prefix="gradtrace-soak-")) / "server.log"
    with local_server(args.workers, log) as (url, pid):
        wait_healthy(url)
        host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
        if args.flood:
            await asyncio.to_thread(flood, host, port, args.flood)
        soak = Soak(host, port, pid, args.think)
        roles = [role for role, n in ROLES.items() for _ in range(n)]
        tasks = [asyncio.create_task(soak.client(role, i)) for i, role in enumerate(roles)]
        samples = await monitor(soak, url, args.minutes, args.interval)
        soak.stop = True
        await asyncio.wait(tasks, timeout=70)
        for task in tasks:
            task.cancel()
        return verdict(soak, samples, args, log)


async def monitor(soak: Soak, url: str, minutes: float, interval: float) -> list[Sample]:
    samples: list[Sample] = []
    print(f"{'min':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'restarts':>8} {'killed':>6} "
          f"{'recycled':>8} "
          f"{'srv MiB':>7} {'srv fds':>7} {'wrk MiB':>7} {'wrk fds':>7}  statuses", flush=True)
    end = time.monotonic() + minutes * 60
    while time.monotonic() < end:
        began = time.monotonic()
        await asyncio.sleep(min(interval, end - began))
        minute, soak.now = soak.now, Minute()
        sample = soak.sample()
        samples.append(sample)
        health = await asyncio.to_thread(_health, url)
        lat = sorted(minute.latencies) or [float("nan")]
        statuses = Counter(status for (_, status), n in minute.statuses.items() for _ in range(n))
        rate = minute.count() / (time.monotonic() - began)
        print(f"{(time.monotonic() - end) / 60 + minutes:5.1f} {rate:7.1f} "
              f"{lat[len(lat) // 2] * 1000:7.0f} {lat[int(len(lat) * 0.99)] * 1000:7.0f} "
              f"{health.get('restarts', -1):8} {health.get('killed', -1):6} "
              f"{health.get('memory_recycles', -1):8} "
              f"{sample.parent_rss >> 20:7} {sample.parent_fds:7} {sample.worker_rss >> 20:7} "
              f"{sample.worker_fds:7}  {dict(sorted(statuses.items()))}", flush=True)
    return samples


def flood(host: str, port: int, wanted: int) -> None:
    """``wanted`` connections that never finish their headers, from many addresses; all must
    be closed within 30 s (refused at once past the caps, else by the header deadline)
    while a normal client's /api/health and a curriculum graph answer as usual. They are
    opened by as many processes as one process's open-file limit requires."""
    per_process = max(100, resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 600)
    counts = [min(per_process, wanted - start) for start in range(0, wanted, per_process)]
    usual = _timed_graph(host, port, seed=1)
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[tuple[Counter[str], float]] = ctx.Queue()
    opened = [ctx.Event() for _ in counts]
    began = time.time()
    procs = [ctx.Process(target=_flood_part, args=(host, port, sum(counts[:k]), n, began, opened[k], results))
             for k, n in enumerate(counts)]
    for proc in procs:
        proc.start()
    for event in opened:
        event.wait(300)
    took = time.time() - began
    first = _timed_health(host, port)  # waits behind the flood in the listen queue
    time.sleep(1.0)
    health = sorted(_timed_health(host, port) for _ in range(5))[2]
    during = _timed_graph(host, port, seed=2)
    replies: Counter[str] = Counter()
    last = 0.0
    for _ in procs:
        part, part_last = results.get(timeout=300)
        replies += part
        last = max(last, part_last)
    for proc in procs:
        proc.join(30)
    print(f"flood: {wanted} connections that never finish their headers, from {len(procs)} processes, "
          f"opened in {took:.1f} s; closed: {dict(replies)}; the last {last:.1f} s after the first opened; "
          f"meanwhile /api/health {first * 1000:.0f} ms right after the flood (behind it in the listen "
          f"queue), then {health * 1000:.0f} ms (median of 5), a curriculum graph {during * 1000:.0f} ms "
          f"(before: {usual * 1000:.0f} ms)", flush=True)
    FLOOD.update(count=wanted, last=last, health=health, graph=during, usual=usual,
                 closed=sum(n for k, n in replies.items() if k != "still open"))


def _flood_part(host: str, port: int, first: int, count: int, began: float, opened: Any,
                results: Any) -> None:
    """One process's share of the flood: open, say so, then wait for the server to close them."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks = []
    for i in range(first, first + count):
        sock = socket.socket()
        sock.bind((f"127.30.{i // 100 // 250}.{1 + i // 100 % 250}", 0))  # 100 per address
        with contextlib.suppress(OSError):
            sock.connect((host, port))
            sock.sendall(PARTIAL)
        sock.setblocking(False)
        socks.append(sock)
    opened.set()
    replies, last = _until_closed(socks, began)
    for sock in socks:
        sock.close()
    results.put((replies, last))


FLOOD: dict[str, float] = {}


def _until_closed(socks: list[socket.socket], began: float) -> tuple[Counter[str], float]:
    """First reply bytes of each socket until the server closes it; the seconds from
    ``began`` to the last close."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    deadline = began + 90
    replies: Counter[str] = Counter()
    last = 0.0
    while selector.get_map() and time.time() < deadline:
        for key, _ in selector.select(timeout=0.5):
            conn = key.fileobj
            if not isinstance(conn, socket.socket):
                continue
            try:
                data = conn.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b"reset"
            if data.startswith(b"HTTP/1.1 "):
                replies[data[9:12].decode("latin-1")] += 1
            else:  # closed to make room for a newer connection (or reset)
                replies["closed without a reply" if not data else data[:12].decode("latin-1")] += 1
            selector.unregister(conn)
            last = time.time() - began
    replies["still open"] = len(selector.get_map())
    return replies, last


def _timed_health(host: str, port: int) -> float:
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
        while sock.recv(65536):
            pass
    return time.perf_counter() - started


def _timed_graph(host: str, port: int, seed: int) -> float:
    example = next(e for e in _examples() if "backward" in str(e["source"]))
    body = json.dumps({"source": example["source"], "seed": seed}).encode()
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=60, source_address=("127.0.0.9", 0)) as sock:
        sock.sendall(b"POST /api/graph HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
                     b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    if not reply.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"the curriculum graph failed: {reply[:200]!r}")
    return time.perf_counter() - started


def verdict(soak: Soak, samples: list[Sample], args: argparse.Namespace, log: Path) -> int:
    total = soak.total
    statuses = Counter(status for (_, status), n in total.statuses.items() for _ in range(n))
    fivexx = {s: n for s, n in statuses.items() if s >= 500}
    warm = samples[min(len(samples) - 1, max(1, len(samples) // 3))]
    tail = samples[-max(1, len(samples) // 3):]
    growth = max(s.parent_rss for s in tail) - warm.parent_rss
    fd_growth = max(s.parent_fds for s in tail) - warm.parent_fds
    lat = sorted(total.latencies) or [float("nan")]
    checks = {
        "no 5xx": not fivexx,
        "every answer typed": not total.untyped,
        "every request answered": sum(total.no_answer.values()) == 0,
        "server memory flat (< 32 MiB or 10 % over the warm sample)":
            growth < max(32 << 20, warm.parent_rss // 10),
        "server descriptors flat (< 16 over the warm sample)": fd_growth < 16,
        "worker memory within its budget (first sample + --memory-mb 2048)":
            max(s.worker_rss for s in samples) < samples[0].worker_rss + (2048 << 20),
        "no traceback in the server's log": "Traceback" not in log.read_text(errors="replace"),
    }
    if FLOOD:
        checks["flood closed within 30 s, others served meanwhile"] = (
            FLOOD["closed"] == FLOOD["count"] and FLOOD["last"] < 30 and FLOOD["health"] < 1.0
            and FLOOD["graph"] < 3 * FLOOD["usual"] + 1.0)
    print(f"\nsoak: {args.minutes:g} min, {sum(ROLES.values())} clients {dict(ROLES)}, "
          f"{args.workers} workers; "
          f"{total.count()} answers {dict(sorted(statuses.items()))}; "
          f"students p50 {lat[len(lat) // 2] * 1000:.0f} ms, p99 {lat[int(len(lat) * 0.99)] * 1000:.0f} ms")
    print(f"server log: {log} ({len(log.read_text(errors='replace').splitlines())} lines)")
    print(f"server RSS {warm.parent_rss >> 20} → {samples[-1].parent_rss >> 20} MiB, fds {warm.parent_fds} → "
          f"{samples[-1].parent_fds}; largest worker RSS {max(s.worker_rss for s in samples) >> 20} MiB")
    print("answers other than 200:", ", ".join(f"{code} ×{n}" for code, n in total.codes.most_common(12)))
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    for line in (total.untyped[:5] + [f"no answer: {k} ×{n}" for k, n in total.no_answer.items()])[:10]:
        print(f"        {line}")
    print("verdict:", "PASS" if all(checks.values()) else "FAIL")
    return 0 if all(checks.values()) else 1


def _code(body: bytes) -> str:
    try:
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        return str(json.loads(body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "?"


def _untyped(status: int, body: bytes) -> str | None:
    """Why an answer is not typed (None when it is): a 200 is a graph, the rest an error shape."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    try:
        data = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:80]!r}"
    if status == 200:
        return None if isinstance(data, dict) and "nodes" in data else "a 200 without a graph"
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict) or not error.get("type") or not error.get("code"):
        return f"no typed error: {body[:80]!r}"
    return None


def _examples() -> list[dict[str, object]]:
    from gradtrace.core.curriculum import examples

    return [dict(e) for e in examples()]


def _health(url: str) -> dict[str, int]:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=30) as reply:
            workers: dict[str, int] = json.loads(reply.read())["workers"]
            return workers
    except OSError:
        return {}


def _rss(pid: int) -> int:
    from gradtrace.service.memory import resident_bytes

    return resident_bytes(pid)


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):  # a child may come from any thread
        with contextlib.suppress(OSError):
            kids += [int(k) for k in (task / "children").read_text(encoding="ascii").split()]
    return kids


def _fds(pid: int) -> int:
    try:
        return len(list(Path(f"/proc/{pid}/fd").iterdir()))
    except OSError:
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="how long the mixed clients run")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between printed rows")
    parser.add_argument("--flood", type=int, default=20_000,
                        help="stalled connections opened first (0: none); capped by the open-file limit")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--think", type=float, default=0.5,
                        help="mean seconds a client waits between requests")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
