"""The worker pool with real worker processes: kills, crashes, recycling, overload."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from typing import Any

import pytest

from gradtrace.core import DEFAULT_LIMITS
from gradtrace.service import ClientBusy, Job, Outcome, Overloaded

# Allowed by the sandbox, and endless once the in-worker budgets are lifted: only the
# parent's wall clock can stop it.
SLOW = "total = 0\nfor i in range(100000):\n    for j in range(100000):\n        total = total + 1\n"
LOOSE = DEFAULT_LIMITS.with_overrides(steps=10**12, loop_iterations=10**12, wall_seconds=3600.0)
QUICK = "x = torch.tensor(2.0, requires_grad=True)\ny = x * x\ny.backward()\n"


def test_refusals_come_back_as_typed_errors(make_pool: Any) -> None:
    harness = make_pool(workers=1)
    outcome = harness.call(harness.pool.run(Job("import os", lang="ko")))
    assert outcome.error is not None
    assert outcome.error["type"] == "not_allowed" and outcome.error["lang"] == "ko"
    assert outcome.cacheable


def test_wall_clock_kills_and_replaces_the_worker(make_pool: Any) -> None:
    harness = make_pool(LOOSE, workers=1, timeout=0.5)
    first_pid = harness.pool.pids()[0]
    started = time.monotonic()
    outcome = harness.call(harness.pool.run(Job(SLOW)))
    assert time.monotonic() - started < 10
    assert outcome.error is not None and outcome.error["type"] == "limit"
    assert outcome.error["code"] == "service_timeout" and not outcome.cacheable
    assert harness.pool.stats.killed == 1
    after = harness.call(harness.pool.run(Job(QUICK)))
    assert after.ok, after.error
    assert harness.pool.pids()[0] != first_pid


def test_a_worker_killed_mid_request_fails_only_that_request(make_pool: Any) -> None:
    harness = make_pool(LOOSE, workers=2, timeout=30)

    async def scenario() -> tuple[Outcome, Outcome]:
        slow = asyncio.ensure_future(harness.pool.run(Job(SLOW)))
        while not harness.pool.busy_pids():
            await asyncio.sleep(0.02)
        victim = harness.pool.busy_pids()[0]
        other = asyncio.ensure_future(harness.pool.run(Job(QUICK)))
        os.kill(victim, signal.SIGKILL)
        return await slow, await other

    killed, other = harness.call(scenario())
    assert killed.error is not None and killed.error["code"] == "service_worker_lost"
    assert other.ok
    assert harness.call(harness.pool.run(Job(QUICK, seed=1))).ok


def test_a_failed_program_leaves_no_torch_state_for_the_next(make_pool: Any) -> None:
    """A worker runs every program on one long-lived thread: thread-local torch state
    (grad mode) must not carry over from a program that failed half-way."""
    harness = make_pool(workers=1)
    broken = "x = torch.tensor(2.0, requires_grad=True)\nwith torch.no_grad():\n    y = x * missing\n"
    failed = harness.call(harness.pool.run(Job(broken)))
    assert failed.error is not None and failed.error["type"] == "runtime"
    after = harness.call(harness.pool.run(Job(QUICK)))
    assert after.ok, after.error
    grads = [n["grad"] for n in json.loads(after.body)["nodes"] if n.get("name") == "x"]
    assert grads and grads[0]["data"] == 4.0


def test_a_flood_from_one_client_does_not_hold_up_another(make_pool: Any) -> None:
    """Clients take turns for workers: a newcomer waits for the job running, not the flood."""
    harness = make_pool(LOOSE, workers=1, timeout=0.5)
    finished: list[str] = []

    async def scenario() -> None:
        async def run(name: str, job: Job, client: str) -> None:
            await harness.pool.run(job, client)
            finished.append(name)

        flood = [asyncio.ensure_future(run(f"flood{i}", Job(SLOW, seed=i), "10.0.0.1")) for i in range(4)]
        while not harness.pool.busy_pids():
            await asyncio.sleep(0.02)
        await run("newcomer", Job(QUICK), "10.0.0.2")
        await asyncio.gather(*flood)

    harness.call(scenario(), timeout=60)
    assert finished.index("newcomer") <= 1, finished  # at most the runaway already running


def test_one_clients_full_line_is_refused_while_others_still_queue(make_pool: Any) -> None:
    harness = make_pool(LOOSE, workers=1, timeout=5, client_queue=2)

    async def scenario() -> tuple[ClientBusy, Outcome]:
        running = asyncio.ensure_future(harness.pool.run(Job(SLOW), "10.0.0.1"))
        while not harness.pool.busy_pids():
            await asyncio.sleep(0.02)
        waiting = [asyncio.ensure_future(harness.pool.run(Job(QUICK, seed=i), "10.0.0.1")) for i in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(ClientBusy) as refused:
            await harness.pool.run(Job(QUICK, seed=9), "10.0.0.1")
        other = asyncio.ensure_future(harness.pool.run(Job(QUICK, seed=10), "10.0.0.2"))
        os.kill(harness.pool.busy_pids()[0], signal.SIGKILL)  # end the runaway early
        results = await asyncio.gather(running, *waiting, other)
        return refused.value, results[-1]

    refused, other = harness.call(scenario(), timeout=60)
    assert refused.waiting == 2 and refused.retry_after >= 1 and refused.code == "service_client_busy"
    assert other.ok, other.error


def test_workers_are_recycled(make_pool: Any) -> None:
    harness = make_pool(workers=1, recycle=2)
    first = harness.pool.pids()
    for seed in range(3):
        assert harness.call(harness.pool.run(Job(QUICK, seed=seed))).ok
    assert harness.pool.pids() and harness.pool.pids() != first
    assert harness.pool.stats.restarts == 2


def test_a_full_queue_refuses_with_retry_after(make_pool: Any) -> None:
    harness = make_pool(LOOSE, workers=1, queue=0, timeout=1.0)

    async def scenario() -> Overloaded:
        slow = asyncio.ensure_future(harness.pool.run(Job(SLOW)))
        while not harness.pool.busy_pids():
            await asyncio.sleep(0.02)
        with pytest.raises(Overloaded) as refused:
            await harness.pool.run(Job(QUICK))
        await slow
        return refused.value

    refused = harness.call(scenario())
    assert refused.retry_after >= 1


def test_state_reports_workers_and_devices(make_pool: Any) -> None:
    harness = make_pool(workers=2)
    state = harness.pool.state()
    assert state["total"] == 2 and state["queued"] == 0
    assert harness.pool.devices and harness.pool.devices[0]["id"] == "cpu"
    assert any("RLIMIT_FSIZE" in line for line in harness.pool.stats.enforced)
