"""The ASGI app with a real 2-worker pool, driven by httpx on a background event loop.

One app serves the whole session (starting workers costs seconds); tests that need
other settings build their own with ``make_app``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Iterator
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import httpx
import pytest

from gradtrace.api import create_app
from gradtrace.core.limits import DEFAULT_LIMITS, Limits
from gradtrace.service import Settings

T = TypeVar("T")
QUICK = "x = torch.tensor(2.0, requires_grad=True)\ny = x**2 + 3*x + 1\ny.backward()\n"


class AppHarness:
    def __init__(self, settings: Settings, *, client_host: str = "127.0.0.1",
                 program_limits: Limits | None = None) -> None:
        self.app = create_app(settings, program_limits=program_limits)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._stack = AsyncExitStack()
        self.client: httpx.AsyncClient = self.call(self._start(client_host), timeout=240)

    async def _start(self, client_host: str) -> httpx.AsyncClient:
        await self._stack.enter_async_context(self.app.router.lifespan_context(self.app))
        transport = httpx.ASGITransport(app=self.app, client=(client_host, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://gradtrace.test", timeout=120)
        await self._stack.enter_async_context(client)
        assert await self.app.state.pool.wait_ready(200), "no worker came up"
        return client

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 180) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call(self.client.get(path, **kwargs))

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call(self.client.post(path, **kwargs))

    def graph(self, source: str, **fields: Any) -> httpx.Response:
        return self.post("/api/graph", json={"source": source, **fields})

    def gather(self, coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
        pending = list(coros)

        async def together() -> list[T]:
            return list(await asyncio.gather(*pending))

        return self.call(together())

    @property
    def pool(self) -> Any:
        return self.app.state.pool

    def close(self) -> None:
        self.call(self._stack.aclose(), timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="session")
def api() -> Iterator[AppHarness]:
    harness = AppHarness(Settings.load(env={}, workers=2))
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def loaded() -> Iterator[AppHarness]:
    """2 workers, a 1 s wall clock, and no in-worker step or time budget: runaway
    programs are stopped only by the parent's kill."""
    loose = DEFAULT_LIMITS.with_overrides(steps=10**12, loop_iterations=10**12, wall_seconds=3600.0)
    harness = AppHarness(Settings.load(env={}, workers=2, timeout=1.0), program_limits=loose)
    yield harness
    harness.close()


@pytest.fixture
def make_app() -> Iterator[Any]:
    made: list[AppHarness] = []

    def make(client_host: str = "127.0.0.1", program_limits: Limits | None = None,
             **settings: Any) -> AppHarness:
        harness = AppHarness(Settings.load(env={}, **settings), client_host=client_host,
                             program_limits=program_limits)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
