"""Errors: 400 for the program, 422 for the request, 413 for size, 429 for floods; never 500."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import pytest

from gradtrace.core.limits import DEFAULT_LIMITS

QUICK = "x = torch.tensor(2.0, requires_grad=True)\ny = x * x\n"
ERROR_KEYS = {"type", "code", "message", "hint", "line", "col"}


def test_program_errors_are_400_with_location(api: Any) -> None:
    response = api.graph("x = 1\ny = (\n")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.keys() >= ERROR_KEYS and error["type"] == "syntax" and error["line"]


def test_language_from_body_then_accept_language(api: Any) -> None:
    english = api.graph("import os").json()["error"]
    korean = api.graph("import os", lang="ko").json()["error"]
    browser = api.post("/api/graph", json={"source": "import os"},
                       headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"}).json()["error"]
    assert english["lang"] == "en" and korean["lang"] == "ko" and browser["lang"] == "ko"
    assert korean["message"] == browser["message"] != english["message"]


@pytest.mark.parametrize("body", [
    {}, {"source": 3}, {"source": "x = 1", "device": "tpu"}, {"source": "x = 1", "device": "cuda:x"},
    {"source": "x = 1", "backward": "perhaps"}, {"source": "x = 1", "seed": -1},
    {"source": "x = 1", "seed": 2**70}, {"source": "x = 1", "lang": "fr"}, [], "text",
    {"source": "x = 1", "output": "y" * 500},
])
def test_malformed_requests_are_422(api: Any, body: object) -> None:
    response = api.post("/api/graph", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "request" and error["message"]


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b'{"source": "\\ud800"', b"null", b"1e999999"])
def test_broken_json_is_422(api: Any, raw: bytes) -> None:
    response = api.post("/api/graph", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422


def test_json_nested_too_deeply_is_422(api: Any) -> None:
    for raw in (b"[" * 60000 + b"]" * 60000, b'{"source": ' + b"[" * 50000 + b"]" * 50000 + b"}"):
        response = api.post("/api/graph", content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 422 and response.json()["error"]["type"] == "request"


def test_lone_surrogates_are_not_a_500(api: Any) -> None:
    body = json.dumps({"source": "s = '\udcff'\nt = torch.ones(2)"})  # ASCII JSON with an escaped surrogate
    response = api.post("/api/graph", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400)


def test_oversize_bodies_are_refused_before_parsing(api: Any) -> None:
    big = json.dumps({"source": "x = 1\n" + "#" * 200_000})
    response = api.post("/api/graph", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "service_body_too_large"

    async def chunks() -> Any:
        for _ in range(100):
            yield b" " * 10_000

    chunked = api.post("/api/graph", content=chunks(), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413


def test_chunked_small_bodies_still_work(api: Any) -> None:
    async def chunks() -> Any:
        payload = json.dumps({"source": "import os"}).encode()
        yield payload[:5]
        yield payload[5:]

    response = api.post("/api/graph", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["type"] == "not_allowed"


def test_devices_turned_off_are_refused(make_app: Any) -> None:
    harness = make_app(workers=1, devices="cpu")
    response = harness.graph(QUICK, device="cuda")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "service_device_not_allowed"
    assert [d["id"] for d in harness.get("/api/devices").json()["devices"]] == ["cpu"]
    assert harness.graph(QUICK, device="auto").json()["device"] == "cpu"


def test_rate_limit_per_client(make_app: Any) -> None:
    harness = make_app(client_host="10.1.2.3", workers=1, rate_limit=6, rate_burst=2)
    codes = [harness.graph("import os").status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    limited = harness.graph("import os")
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "service_rate_limited"
    assert harness.get("/api/health").status_code == 200  # only graph/export are limited


def test_a_client_with_a_full_line_gets_429_in_its_language(make_app: Any) -> None:
    loose = DEFAULT_LIMITS.with_overrides(steps=10**12, loop_iterations=10**12, wall_seconds=3600.0)
    harness = make_app(client_host="10.1.2.4", program_limits=loose, workers=1, timeout=10,
                       client_queue=1, rate_limit=0)
    pool = harness.pool
    endless = "total = 0\nfor i in range(100000):\n    for j in range(100000):\n        total = total + 1\n"

    async def scenario() -> Any:
        running = asyncio.ensure_future(harness.client.post("/api/graph", json={"source": endless}))
        while not pool.busy_pids():
            await asyncio.sleep(0.02)
        waiting = asyncio.ensure_future(harness.client.post("/api/graph", json={"source": QUICK}))
        while pool.state()["queued"] == 0:
            await asyncio.sleep(0.01)
        refused = await harness.client.post("/api/graph", json={"source": QUICK, "seed": 1},
                                            headers={"Accept-Language": "ko"})
        os.kill(pool.busy_pids()[0], signal.SIGKILL)  # end the runaway early
        await asyncio.gather(running, waiting)
        return refused

    refused = harness.call(scenario())
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    error = refused.json()["error"]
    assert error["code"] == "service_client_busy" and "1개" in error["message"]


def test_cors_only_when_configured(make_app: Any) -> None:
    harness = make_app(workers=1, cors_origins="https://class.example")
    response = harness.get("/api/health", headers={"Origin": "https://class.example"})
    assert response.headers["access-control-allow-origin"] == "https://class.example"
    other = harness.get("/api/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
