"""Waiting jobs in one line per client, served in turn.

With a single first-in-first-out queue, one student who sends twenty endless loops
makes everyone behind them wait twenty time limits. Here each client (an IP address)
has its own line, and a free worker takes the first job of the client with the fewest
jobs running now; among those, the one served longest ago (a client with nothing
running or waiting is forgotten, so it comes back as a newcomer, served first). One
client may also hold at most ``max_running`` workers at once, even when the others
are idle: a browser runs one program at a time, and the worker left over is what
lets a newcomer start at once instead of behind a flood. A client may have
``per_client`` jobs waiting; past that its requests are refused (429) while
everyone else's are still taken. The shared line (clients not told apart) has
neither cap.
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
    def __init__(self, per_client: int, max_running: int) -> None:
        self.per_client = per_client
        self.max_running = max_running
        self._lines: OrderedDict[str, deque[T]] = OrderedDict()
        self._running: dict[str, int] = {}
        self._served: dict[str, int] = {}  # turn at which each client was last served
        self._turn = 0
        self._size = 0
        self._changed = asyncio.Event()  # a job came in or one ended: look again

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
        self._changed.set()

    async def get(self) -> tuple[str | None, T]:
        """The next job and its client (waits for one); call :meth:`done` when it ends."""
        while (key := self._next_client()) is None:
            self._changed.clear()
            await self._changed.wait()
        line = self._lines[key]
        item = line.popleft()
        self._size -= 1
        if not line:
            del self._lines[key]
        self._running[key] = self._running.get(key, 0) + 1
        self._turn += 1
        self._served[key] = self._turn
        return (None if key == SHARED else key), item

    def done(self, client: str | None) -> None:
        """A job taken by :meth:`get` has ended."""
        key = SHARED if client is None else client
        left = self._running.get(key, 0) - 1
        self._changed.set()
        if left > 0:
            self._running[key] = left
            return
        self._running.pop(key, None)
        if key not in self._lines:
            self._served.pop(key, None)

    def _next_client(self) -> str | None:
        running, served, cap = self._running, self._served, self.max_running
        best: tuple[int, int] | None = None
        chosen = None
        for key in self._lines:  # oldest line first: ties go to it
            busy = running.get(key, 0)
            if busy >= cap and key != SHARED:
                continue
            rank = (busy, served.get(key, 0))
            if best is None or rank < best:
                best, chosen = rank, key
        return chosen
