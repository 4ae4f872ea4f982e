"""A real ``gradtrace serve`` under the abuse a public server meets: thousands of connections
that never finish a request, paths no file can have, replies too big to send, programs
that leave a worker's memory high. Each answer must be typed, and the server must stay
up for everyone else while it happens."""

from __future__ import annotations

import json
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from gradtrace.service import Settings

ROOT = Path(__file__).resolve().parents[2]
STALLED = 2000
ADDRESSES = 10  # 200 connections each: under the per-address cap, so the caps and deadlines close them
SLOW_BODIES = 40
MAX_CONNECTIONS = 1500  # under the flood: the longest-waiting stalled connections make room
MAX_REPLY_MB = 1
PARTIAL_HEADERS = b"GET /api/health HTTP/1.1\r\nHost: x\r\n"
SLOW_BODY = (b"POST /api/graph HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: 400\r\n\r\n{")


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str
    port: int
    lines: list[str] = field(default_factory=list)

    def log(self) -> str:
        return "".join(self.lines)

    def worker_pids(self) -> list[int]:
        """Workers are the forkserver's children, the server's grandchildren."""
        return [pid for child in _children(self.proc.pid) for pid in _children(child)]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    command = [sys.executable, "-m", "gradtrace", "serve", "--port", "0", "--workers", "1",
               "--max-reply-mb", str(MAX_REPLY_MB), "--body-timeout", "8",
               "--max-connections", str(MAX_CONNECTIONS)]
    proc = subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ})
    assert proc.stdout is not None
    first = proc.stdout.readline()
    match = re.search(r"serving at (http://127\.0\.0\.1:(\d+)/)", first)
    assert match, first
    running = Server(proc, match.group(1), int(match.group(2)), [first])
    threading.Thread(target=lambda: running.lines.extend(iter(proc.stdout.readline, "")),  # type: ignore[union-attr]
                     daemon=True).start()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(running.url + "api/health").json()["status"] == "ok":
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    yield running
    proc.kill()
    proc.wait(10)


def _client(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


def _curriculum_source() -> str:
    from gradtrace.core.curriculum import examples

    return next(e["source"] for e in examples() if "backward" in e["source"])


def _open(port: int, source: str, first_bytes: bytes) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    sock.sendall(first_bytes)
    sock.setblocking(False)
    return sock


def _reader_that_stops(port: int) -> socket.socket:
    """A client that asks for a half-megabyte graph twelve times over (pipelined: more than the
    kernel's socket buffers hold) and never reads the replies."""
    source = "x = torch.ones(4, requires_grad=True)\nfor i in range(700):\n    x = x * 1.001\ny = x.sum()\n"
    payload = json.dumps({"source": source}).encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind(("127.0.2.3", 0))
    sock.connect(("127.0.0.1", port))
    request = (b"POST /api/graph HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    sock.sendall(request * 12)
    return sock


def _counted_once(server: Server, kind: str, within: float) -> dict[str, int]:
    """/api/health's connection counts, once ``kind`` has been counted (or ``within`` is over)."""
    end = time.monotonic() + within
    while True:
        counted: dict[str, int] = httpx.get(server.url + "api/health").json()["connections"]
        if counted.get(kind, 0) or time.monotonic() > end:
            return counted
        time.sleep(0.5)


def _reads_to_eof(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (what it sent before is read and dropped)."""
    sock.settimeout(1.0)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    return True


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"the open-file limit ({hard}) is below the {needed} this test needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _wait_closed(socks: list[socket.socket], seconds: float) -> tuple[int, dict[bytes, int]]:
    """Read every socket until the server closes it; (still open after ``seconds``, first
    reply bytes seen by count)."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ, bytearray())
    replies: dict[bytes, int] = {}
    end = time.monotonic() + seconds
    while selector.get_map() and time.monotonic() < end:
        for key, _ in selector.select(timeout=0.5):
            conn, got = key.fileobj, key.data
            assert isinstance(conn, socket.socket)
            try:
                chunk = conn.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            got += chunk
            if not chunk:
                replies[bytes(got[:12])] = replies.get(bytes(got[:12]), 0) + 1
                selector.unregister(conn)
    still = len(selector.get_map())
    selector.close()
    return still, replies


def test_stalled_connections_are_closed_while_others_are_served(server: Server) -> None:
    _raise_fd_limit(STALLED + SLOW_BODIES + 500)
    source = _curriculum_source()
    with _client("127.0.2.1") as normal:
        started = time.monotonic()
        assert normal.post(server.url + "api/graph", json={"source": source, "seed": 1}).status_code == 200
        usual = time.monotonic() - started
        idle = _open(server.port, "127.0.2.2", b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        unread = _reader_that_stops(server.port)
        socks = [_open(server.port, f"127.0.1.{1 + i % ADDRESSES}", PARTIAL_HEADERS) for i in range(STALLED)]
        socks += [_open(server.port, "127.0.3.1", SLOW_BODY) for _ in range(SLOW_BODIES)]
        opened = time.monotonic()
        try:
            time.sleep(1.0)  # past the burst of accepts (a request sent in it waits behind them)
            started = time.monotonic()
            assert normal.get(server.url + "api/health").status_code == 200
            health_s = time.monotonic() - started
            started = time.monotonic()
            graph = normal.post(server.url + "api/graph", json={"source": source, "seed": 2})
            assert graph.status_code == 200
            graph_s = time.monotonic() - started
            still, replies = _wait_closed(socks, 30 - (time.monotonic() - opened))
            idle_closed = _reads_to_eof(idle)  # answered, then idle past --idle-timeout (5 s)
        finally:
            for sock in [*socks, idle, unread]:
                sock.close()
    assert still == 0, f"{still} stalled connections still open after 30 s"
    assert idle_closed, "an idle keep-alive connection stayed open"
    # past --max-connections the longest-waiting make room (closed without a word), or, while
    # too many of those are still closing, the newcomer gets a typed 503
    timed_out, evicted, refused = (replies.get(key, 0) for key in (b"HTTP/1.1 408", b"", b"HTTP/1.1 503"))
    assert timed_out + evicted + refused == STALLED + SLOW_BODIES, replies
    assert evicted >= 200 and timed_out <= MAX_CONNECTIONS, replies
    counted = _counted_once(server, "reply_unread", within=10.0)
    assert counted["max"] == MAX_CONNECTIONS and counted["evicted"] >= 200, counted
    assert counted.get("reply_unread") == 1, counted  # the reader that stopped, after --body-timeout
    assert counted["headers_late"] + counted["body_late"] >= timed_out, counted
    assert health_s < 1.0 and graph_s < 3 * usual + 1.0, (health_s, graph_s, usual)
    log = server.log()
    assert "Traceback" not in log and "Too many open files" not in log
    # counted, not logged one by one: the first close at once, the rest once per 10 s
    assert "connections: 1 closed" in log and len(log.splitlines()) < 40


def test_one_address_past_its_cap_is_refused_at_once(server: Server) -> None:
    cap = Settings().client_connections
    _raise_fd_limit(cap + 200)
    socks = [_open(server.port, "127.0.4.1", PARTIAL_HEADERS) for _ in range(cap + 20)]
    try:
        still, replies = _wait_closed(socks[cap:], 3.0)
        assert still == 0 and replies.get(b"HTTP/1.1 503", 0) >= 15, replies
        with _client("127.0.4.2") as other:  # another address is not held up
            assert other.get(server.url + "api/health").status_code == 200
    finally:
        for sock in socks:
            sock.close()


def test_an_oversized_body_gets_its_typed_413_not_a_reset(server: Server) -> None:
    payload = json.dumps({"source": "x = 1\n" * 50_000}).encode()
    request = (b"POST /api/graph HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    with socket.create_connection(("127.0.0.1", server.port), source_address=("127.0.7.1", 0),
                                  timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head[:80]
    assert json.loads(body)["error"]["code"] == "service_body_too_large"


def test_requests_that_are_not_http_are_counted_not_logged_one_by_one(server: Server) -> None:
    for _ in range(30):
        with socket.create_connection(("127.0.0.1", server.port), source_address=("127.0.8.1", 0),
                                      timeout=10) as sock:
            sock.sendall(b"\x16\x03\x01\x02\x00 not http at all\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 400")
    counted = _counted_once(server, "not_http", within=5.0)
    assert counted["not_http"] >= 30, counted
    assert server.log().count("Invalid HTTP request") == 0


UNNAMEABLE = ["/%00", "/fonts/%00", "/index.html%00.gz", "/assets%2F..%2F..%2Fetc%2Fpasswd",
              "/..%5C..%5Cetc%5Cpasswd", "/" + "a" * 300, "/x/" + "b/" * 700, "/%0d%0a"]


@pytest.mark.parametrize("path", UNNAMEABLE)
def test_paths_that_cannot_name_a_file_are_404(server: Server, path: str) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request.encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404"), head[:80]
    assert json.loads(body)["error"]["code"] == "http_404"
    assert "Traceback" not in server.log()


def test_a_reply_over_the_cap_is_a_typed_limit_error(server: Server) -> None:
    big = "x = torch.ones(4, requires_grad=True)\nfor i in range(3000):\n    x = x * 1.001\ny = x.sum()\n"
    small = "x = torch.ones(4, requires_grad=True)\nfor i in range(60):\n    x = x * 1.001\ny = x.sum()\n"
    with _client("127.0.5.1") as client:
        refused = client.post(server.url + "api/graph", json={"source": big, "lang": "ko"})
        plain = client.post(server.url + "api/graph", json={"source": small},
                            headers={"Accept-Encoding": "identity"})
        packed = client.post(server.url + "api/graph", json={"source": small},
                             headers={"Accept-Encoding": "gzip"})
    error = refused.json()["error"]
    assert refused.status_code == 400 and error["type"] == "limit", error
    assert error["code"] == "service_reply_too_large" and f"{MAX_REPLY_MB} MiB" in error["message"]
    assert error["hint"] and error["lang"] == "ko"
    assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
    assert packed.json() == plain.json() and len(packed.content) == len(plain.content)  # httpx decodes


def test_a_worker_gives_memory_back_after_a_big_program(server: Server) -> None:
    # a big block freed first raises glibc's mmap threshold, so the next ones come from the
    # heap, interleaved with small ones: without malloc_trim about 90 MiB stay resident
    held = ("a = torch.ones(3000, 1000)\na = None\nts = {}\nfor i in range(12):\n"
            "    ts[i] = torch.randn(1000, 1000) + 1\n    ts[-i - 1] = torch.randn(10, 10) + 1\n"
            "ts = None\nx = torch.ones(2, requires_grad=True)\ny = (x * 2).sum()\n")
    with _client("127.0.6.1") as client:
        warm = client.post(server.url + "api/graph", json={"source": "y = torch.ones(3).sum()"})
        assert warm.status_code == 200
        (worker,) = server.worker_pids()
        before = _rss(worker)
        assert client.post(server.url + "api/graph", json={"source": held}).status_code == 200
        time.sleep(0.2)
    after = _rss(worker)
    assert server.worker_pids() == [worker], "trimming should be enough: the worker was replaced"
    assert after - before < 40 << 20, (before >> 20, after >> 20)


def _children(pid: int) -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and _ppid(int(e)) == pid]


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _rss(pid: int) -> int:
    from gradtrace.service.memory import resident_bytes

    return resident_bytes(pid)

