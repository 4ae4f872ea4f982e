"""A worker's memory between and during programs, with real worker processes: kept memory
is given back or the worker replaced; a worker no address-space limit caps (CUDA) is
watched by the server; GPU workers get the allocator's cap (skipped without a GPU)."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
import torch

from gradtrace.core import DEFAULT_LIMITS
from gradtrace.service import Job, Settings, WorkerPool

QUICK = "x = torch.tensor(2.0, requires_grad=True)\ny = x * x\ny.backward()\n"
# a graph of 12,000 nodes (past the step budget, so run without it): its Python objects
# leave some MiB that malloc_trim cannot return (partly used pymalloc arenas; 35 MiB here,
# less elsewhere), so the test allows a worker 1 MiB
BIG_GRAPH = ("x = torch.ones(100, requires_grad=True)\nfor i in range(6000):\n    x = x * 1.001\n"
             "y = x.sum()\n")
LOOSE = DEFAULT_LIMITS.with_overrides(steps=10**12, loop_iterations=10**12, wall_seconds=3600.0)
# 144 MiB held, then a second or so of work: long enough for the server's 10 Hz look
HOLDS_MEMORY = ("ts = {}\nfor i in range(9):\n    ts[i] = torch.ones(2000, 2000)\n"
                "x = torch.ones(3)\nfor i in range(4000):\n    x = x * 1.0\n")


def test_a_worker_that_keeps_memory_is_replaced_before_its_next_program(make_pool: Any) -> None:
    harness = make_pool(LOOSE, workers=1, worker_rss_mb=1, timeout=60)
    small = harness.call(harness.pool.run(Job(QUICK)))
    pid, recycles = harness.pool.pids(), harness.pool.stats.memory_recycles
    big = harness.call(harness.pool.run(Job(BIG_GRAPH)), timeout=180)
    assert small.ok and big.ok, big.error
    assert harness.pool.stats.memory_recycles == recycles + 1
    assert harness.pool.pids() != pid
    assert harness.call(harness.pool.run(Job(QUICK, seed=1))).ok  # the fresh worker serves
    assert big.gzipped is not None and gzip.decompress(big.gzipped) == big.body
    assert json.loads(big.body)["nodes"]


T = TypeVar("T")


class _UnhardenedPool:
    """Workers without their own limits: the same as a CUDA worker has no RLIMIT_AS."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        loose = DEFAULT_LIMITS.with_overrides(wall_seconds=60.0, memory_mb=settings.memory_mb)
        self.pool = WorkerPool(settings, harden=False, program_limits=loose)
        self.call(self.pool.start())
        assert self.call(self.pool.wait_ready(180), timeout=200)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.call(self.pool.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_a_worker_without_an_address_space_limit_is_watched() -> None:
    harness = _UnhardenedPool(Settings.load(env={}, workers=1, memory_mb=64, timeout=30))
    try:
        outcome = harness.call(harness.pool.run(Job(HOLDS_MEMORY)), timeout=120)
        assert outcome.error is not None and outcome.error["code"] == "service_memory", outcome.error
        assert harness.pool.stats.killed == 1
        assert harness.call(harness.pool.run(Job(QUICK)), timeout=120).ok  # replaced
    finally:
        harness.close()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_workers_are_capped_on_the_gpu_and_watched_on_the_host(make_pool: Any) -> None:
    harness = make_pool(workers=1, memory_mb=256, devices="all")
    enforced = " ".join(harness.pool.stats.enforced)
    assert "GPU memory capped at 256 MiB" in enforced
    too_big = "x = torch.ones(4000, 4000, device='cuda')\ny = torch.ones(4000, 4000, device='cuda')\n"
    outcome = harness.call(harness.pool.run(Job(too_big, device="cuda")), timeout=120)
    assert outcome.error is not None and outcome.error["type"] == "limit", outcome.error
    assert harness.call(harness.pool.run(Job(QUICK, device="cuda")), timeout=120).ok
