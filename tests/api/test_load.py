"""A runaway program next to thirty normal ones, and a worker killed mid-request."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import httpx

# Allowed by the sandbox; with the in-worker budgets lifted only the parent's wall clock
# (kill -9 and respawn) can stop it, which is the path these tests exercise (see the
# ``loaded`` fixture: 1 s wall clock, in-worker budgets lifted).
SLOW = "total = 0\nfor i in range(100000):\n    for j in range(100000):\n        total = total + 1\n"
QUICK = "x = torch.tensor({seed}.0, requires_grad=True)\ny = x**2 + 3*x + 1\ny.backward()\n"


def _post(client: httpx.AsyncClient, source: str) -> Any:
    return client.post("/api/graph", json={"source": source})


def test_thirty_requests_succeed_while_a_runaway_is_killed(loaded: Any) -> None:
    async def scenario() -> tuple[httpx.Response, list[httpx.Response]]:
        runaway = asyncio.ensure_future(_post(loaded.client, SLOW))
        await asyncio.sleep(0.05)
        others = await asyncio.gather(*(_post(loaded.client, QUICK.format(seed=i)) for i in range(30)))
        return await runaway, list(others)

    killed_before = loaded.pool.stats.killed
    runaway, others = loaded.call(scenario())
    assert runaway.status_code == 400
    error = runaway.json()["error"]
    assert error["type"] == "limit" and error["code"] == "service_timeout" and error["message"]
    assert [r.status_code for r in others] == [200] * 30
    assert loaded.pool.stats.killed == killed_before + 1
    health = loaded.get("/api/health").json()
    assert health["status"] == "ok" and health["workers"]["total"] == 2


def test_a_worker_killed_mid_request(loaded: Any) -> None:
    async def scenario() -> httpx.Response:
        victim_request = asyncio.ensure_future(_post(loaded.client, SLOW + "# killed\n"))
        while not loaded.pool.busy_pids():
            await asyncio.sleep(0.01)
        os.kill(loaded.pool.busy_pids()[0], signal.SIGKILL)
        return await victim_request

    response = loaded.call(scenario())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "service_worker_lost"
    after = loaded.post("/api/graph", json={"source": QUICK.format(seed=99)})
    assert after.status_code == 200


def test_a_full_queue_is_503_with_retry_after(make_app: Any) -> None:
    from gradtrace.core import DEFAULT_LIMITS

    loose = DEFAULT_LIMITS.with_overrides(steps=10**12, loop_iterations=10**12, wall_seconds=3600.0)
    harness = make_app(workers=1, queue=0, timeout=1.0, program_limits=loose)

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        runaway = asyncio.ensure_future(_post(harness.client, SLOW))
        while not harness.pool.busy_pids():
            await asyncio.sleep(0.01)
        refused = await _post(harness.client, QUICK.format(seed=1))
        return await runaway, refused

    runaway, refused = harness.call(scenario())
    assert runaway.status_code == 400
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "service_overloaded"
    while harness.get("/api/health").json()["workers"]["ready"] == 0:  # the killed worker's successor
        time.sleep(0.05)
    assert harness.post("/api/graph", json={"source": QUICK.format(seed=2)}).status_code == 200


def test_cuda_on_a_machine_without_it_is_a_400(api: Any) -> None:
    if len(api.get("/api/devices").json()["devices"]) > 1:
        return  # this machine has a GPU: nothing to refuse
    response = api.post("/api/graph", json={"source": QUICK.format(seed=3), "device": "cuda"})
    assert response.status_code == 400 and response.json()["error"]["type"] in {"runtime", "not_allowed"}
