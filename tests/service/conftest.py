"""A real worker pool on an event loop in a background thread, for synchronous tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from gradtrace.core.limits import Limits
from gradtrace.service import Settings, WorkerPool

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class PoolHarness(LoopThread):
    def __init__(self, settings: Settings, program_limits: Limits | None = None) -> None:
        super().__init__()
        self.pool = WorkerPool(settings, program_limits=program_limits)
        self.call(self.pool.start())
        assert self.call(self.pool.wait_ready(180), timeout=200), "no worker came up"

    def close(self) -> None:
        self.call(self.pool.close())
        self.stop()


@pytest.fixture
def make_pool() -> Iterator[Any]:
    made: list[PoolHarness] = []

    def make(program_limits: Limits | None = None, **settings: Any) -> PoolHarness:
        harness = PoolHarness(Settings.load(env={}, **settings), program_limits)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
