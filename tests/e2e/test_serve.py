"""A real ``gradtrace serve`` process on a free port; the command line around it."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

QUICK = "x = torch.tensor(2.0, requires_grad=True)\ny = x**2 + 3*x + 1\ny.backward()\n"
ROOT = Path(__file__).resolve().parents[2]


def _gradtrace(*args: str) -> list[str]:
    return [sys.executable, "-m", "gradtrace", *args]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(_gradtrace("serve", "--port", "0", "--workers", "1"), cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"serving at (http://127\.0\.0\.1:\d+/)", line)
    assert match, line
    url = match.group(1)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "api/health").json()["status"] == "ok":
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    yield proc, url
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_the_server_answers_on_one_port(server: tuple[subprocess.Popen[str], str]) -> None:
    _, url = server
    graph = httpx.post(url + "api/graph", json={"source": QUICK}, timeout=60)
    assert graph.status_code == 200 and graph.json()["nodes"]
    refused = httpx.post(url + "api/graph", json={"source": "open('/etc/passwd')"}, timeout=60)
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "not_allowed"
    assert httpx.get(url + "api/examples").json()["examples"]
    page = httpx.get(url)
    assert page.status_code in (200, 503) and "content-security-policy" in page.headers
    assert httpx.get(url + "docs").status_code == 200


def test_the_load_bench_client_frames_every_reply(server: tuple[subprocess.Popen[str], str],
                                                  run_async: Any) -> None:
    """bench_load's figures are only as good as its client's framing of replies."""
    _, url = server
    client = _load_client()
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    good = client.encode_post(f"127.0.0.1:{port}", "/api/graph", {"source": QUICK})
    bad = client.encode_post(f"127.0.0.1:{port}", "/api/graph", {"source": "open('/etc/passwd')"})

    async def exercise() -> tuple[int, bytes, object]:
        conns = [await client.Connection.open("127.0.0.1", port) for _ in range(3)]
        status, body = await conns[0].request(good)  # gzip: the body must come whole
        tally = await client.drive(conns, [good, bad], 0.5)
        for conn in conns:
            await conn.close()
        return status, body, tally

    status, body, tally = run_async(exercise())
    expected = httpx.post(url + "api/graph", json={"source": QUICK}, timeout=60).json()
    assert status == 200 and json.loads(gzip.decompress(body)) == expected
    assert set(tally.statuses) == {200, 400}
    assert abs(tally.statuses[200] - tally.statuses[400]) <= 3  # the clients take turns in the list
    assert len(tally.latencies) == sum(tally.statuses.values()) > 10


def _load_client() -> Any:
    spec = importlib.util.spec_from_file_location("load_client", ROOT / "bench" / "load_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["load_client"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_server_stops_cleanly_with_its_workers(server: tuple[subprocess.Popen[str], str]) -> None:
    proc, _ = server
    children = _descendants(proc.pid)
    assert children, "the server should have worker processes"
    proc.send_signal(signal.SIGINT)
    # uvicorn shuts down, then re-raises the signal it caught: Ctrl-C's usual exit status
    assert proc.wait(30) in (0, -signal.SIGINT, 128 + signal.SIGINT)
    assert proc.stdout is not None and "Traceback" not in proc.stdout.read()
    time.sleep(0.5)
    assert not [pid for pid in children if _alive(pid)]


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for entry in os.listdir("/proc"):
            if entry.isdigit() and _ppid(int(entry)) == parent:
                found.append(int(entry))
                frontier.append(int(entry))
    return found


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_serve_help_lists_every_setting() -> None:
    from gradtrace.service import describe_options

    done = subprocess.run(_gradtrace("serve", "--help"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for row in describe_options():
        assert row["flag"] in done.stdout and row["env"] in done.stdout


def test_bad_settings_are_a_one_line_error() -> None:
    done = subprocess.run(_gradtrace("serve", "--workers", "0"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "workers" in done.stderr and "Traceback" not in done.stderr
