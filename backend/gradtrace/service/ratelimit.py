"""Per-client token buckets: a burst is fine, a flood waits its turn."""

from __future__ import annotations

import math
import time
from collections import OrderedDict

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})


class RateLimiter:
    """``per_minute`` requests a minute per client, ``burst`` at once.

    Buckets are kept in LRU order and capped, so a scan from many addresses cannot
    grow memory without bound (a forgotten client simply starts with a full bucket).
    """

    def __init__(self, per_minute: int, burst: int, *, exempt_loopback: bool = True,
                 max_clients: int = 50_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.exempt_loopback = exempt_loopback
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def exempt(self, client: str) -> bool:
        """Clients on this machine are not told apart unless configured to be."""
        return self.exempt_loopback and client in LOOPBACK

    def check(self, client: str, now: float | None = None) -> int:
        """0 if the request may go ahead, else whole seconds until it may."""
        if not self.enabled or self.exempt(client):
            return 0
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._store(client, tokens - 1.0, now)
            return 0
        self._store(client, tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _store(self, client: str, tokens: float, now: float) -> None:
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
