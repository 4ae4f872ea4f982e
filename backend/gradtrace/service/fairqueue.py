"""Waiting jobs in one line per client, served in turn.

With a single first-in-first-out queue, one student who sends twenty endless loops
makes everyone behind them wait twenty time limits. Here each client (an IP address)
has its own line, and a free worker takes the first job of the client with the fewest
jobs running now; among those, the one served longest ago (a client with nothing
running or waiting is forgotten, so it comes back as a newcomer, served first). A
newcomer therefore waits for at most the jobs already running, one client cannot
hold several workers while others wait, and a flood only delays the client who
sends it. A client may have
``per_client`` jobs waiting; past that its requests are refused (429) while
everyone else's are still taken.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from typing import Generic, TypeVar

T = TypeVar("T")
SHARED = ""  # the line of clients not told apart (this machine, unless configured)


class LineFull(Exception):
    """This client already has as many jobs waiting as one client may."""

    def __init__(self, waiting: int) -> None:
        super().__init__(f"{waiting} waiting")
        self.waiting = waiting


class FairQueue(Generic[T]):
    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self._lines: OrderedDict[str, deque[T]] = OrderedDict()
        self._running: dict[str, int] = {}
        self._served: dict[str, int] = {}  # turn at which each client was last served
        self._turn = 0
        self._size = 0
        self._available = asyncio.Semaphore(0)

    def qsize(self) -> int:
        return self._size

    def waiting(self, client: str) -> int:
        line = self._lines.get(client)
        return len(line) if line is not None else 0

    def put_nowait(self, item: T, client: str | None = None) -> None:
        """Queue ``item`` in the client's line; ``None`` is the shared line, never capped."""
        key = SHARED if client is None else client
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = deque()
        elif client is not None and len(line) >= self.per_client:
            raise LineFull(len(line))
        line.append(item)
        self._size += 1
        self._available.release()

    async def get(self) -> tuple[str | None, T]:
        """The next job and its client (waits for one); call :meth:`done` when it ends."""
        await self._available.acquire()
        running, served = self._running, self._served
        key = min(self._lines, key=lambda k: (running.get(k, 0), served.get(k, 0)))
        line = self._lines[key]
        item = line.popleft()
        self._size -= 1
        if not line:
            del self._lines[key]
        running[key] = running.get(key, 0) + 1
        self._turn += 1
        served[key] = self._turn
        return (None if key == SHARED else key), item

    def done(self, client: str | None) -> None:
        """A job taken by :meth:`get` has ended."""
        key = SHARED if client is None else client
        left = self._running.get(key, 0) - 1
        if left > 0:
            self._running[key] = left
            return
        self._running.pop(key, None)
        if key not in self._lines:
            self._served.pop(key, None)
