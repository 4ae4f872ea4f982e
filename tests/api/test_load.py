"""A runaway program next to thirty normal ones, and a worker killed mid-request."""

from __future__ import annotations

import asyncio
import os
import signal
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
