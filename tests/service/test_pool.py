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
from gradtrace.service import Job, Outcome, Overloaded

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
