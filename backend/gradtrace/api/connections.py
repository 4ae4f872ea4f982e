"""Who may hold a connection, and for how long: the rules behind :mod:`gradtrace.api.protocol`.

A connection costs the server a file descriptor from the moment it is accepted. A
client that opens thousands and never finishes a request would, left alone, take
every descriptor and so the server from everyone. The guard caps open connections
per client address and in all, and keeps the deadlines a request's headers and body
must meet. Refusals and deadline closes are counted and logged once per interval:
a flood must not become a flood of log lines too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import orjson

from gradtrace.api.errors import error_dict
from gradtrace.service.settings import Settings

log = logging.getLogger("gradtrace.api")

AUTO_MAX_CONNECTIONS = 4096
# connections closed to make room that the event loop has not yet let go of: as many as
# one burst of accepts can bring (the listen backlog), so a burst never refuses a newcomer
MAX_EVICTING = 2048
# descriptors kept for everything but open client connections: those, workers' pipes, files
RESERVED_FDS = MAX_EVICTING + 256
LOG_INTERVAL = 10.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Evictable(Protocol):
    def evict(self) -> None: ...


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one (the usual soft 1,024 is a few
    hundred clients); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def connection_cap(asked: int, open_file_limit: int) -> int:
    """``--max-connections``, or the automatic cap, never past what the descriptors allow."""
    room = max(16, open_file_limit - min(RESERVED_FDS, open_file_limit // 2))
    return min(asked or AUTO_MAX_CONNECTIONS, room)


def _networks(text: str) -> tuple[list[Network], bool]:
    """The trusted proxies as networks; ``*`` trusts every address."""
    networks: list[Network] = []
    for item in (p.strip() for p in text.split(",")):
        if item == "*":
            return [], True
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue
    return networks, False


def _reply(status: bytes, error: dict[str, object], extra: bytes = b"") -> bytes:
    """A whole HTTP response, encoded once: refusing must cost less than accepting."""
    body = orjson.dumps({"error": error})
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\nconnection: close\r\n" + extra + b"\r\n" + body)


# what the log says for each kind of event (/api/health reports them by key)
LABELS = {
    "refused_full": "refused (server full)",
    "refused_address": "refused (address over its cap)",
    "evicted": "closed (waited longest for headers, server full)",
    "headers_late": "closed (headers too slow)",
    "body_late": "closed (body too slow)",
    "reply_unread": "closed (reply not read)",
    "not_http": "refused (not HTTP)",
}


@dataclass
class Tally:
    """Events counted by kind and logged at most once per ``interval``."""

    interval: float = LOG_INTERVAL
    counts: Counter[str] = field(default_factory=Counter)
    addresses: Counter[str] = field(default_factory=Counter)
    totals: Counter[str] = field(default_factory=Counter)  # since the start, for /api/health
    last_log: float = -LOG_INTERVAL
    _timer: asyncio.TimerHandle | None = None

    def note(self, kind: str, address: str | None) -> None:
        """Count one event; the first after a quiet interval is logged at once, the rest
        together when the interval is over."""
        self.counts[kind] += 1
        self.totals[kind] += 1
        self.addresses[address or "?"] += 1
        if self._timer is not None:
            return
        wait = self.last_log + self.interval - time.monotonic()
        if wait <= 0:
            self.flush()
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the next event logs them
            self._timer = asyncio.get_running_loop().call_later(wait, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.counts:
            return
        what = ", ".join(f"{n} {LABELS.get(kind, kind)}" for kind, n in self.counts.most_common())
        who = ", ".join(f"{a} ({n})" for a, n in self.addresses.most_common(3))
        log.warning("connections: %s in the last %.0f s; most from %s", what,
                    min(time.monotonic() - self.last_log, self.interval), who)
        self.counts.clear()
        self.addresses.clear()
        self.last_log = time.monotonic()


class ConnectionGuard:
    """Caps and deadlines of client connections, shared by every connection of a server."""

    def __init__(self, settings: Settings, open_file_limit: int) -> None:
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        self.max_total = connection_cap(settings.max_connections, open_file_limit)
        self.max_evicting = max(0, min(MAX_EVICTING, open_file_limit - self.max_total - 256))
        self.per_client = settings.client_connections
        self._exempt, self._exempt_all = _networks(settings.trusted_proxies)
        self.open: Counter[str] = Counter()
        # connections waiting for a request's headers, oldest first: the first to make room
        self.waiting: dict[Evictable, None] = {}
        self.evicting = 0  # made room for a newcomer, not yet gone
        self.tally = Tally()
        busy = error_dict("overloaded", "service_connections", "en", seconds=5)
        late = error_dict("request", "service_request_timeout", "en", seconds=f"{self.header_timeout:g}")
        self.refusal = _reply(b"503 Service Unavailable", busy, b"retry-after: 5\r\n")
        self.timeout_reply = _reply(b"408 Request Timeout", late)

    def admit(self, address: str | None, total_open: int) -> bool:
        """Whether a new connection from ``address`` may stay; counts a refusal if not.

        When the server is full, the connection that has waited longest for its request's
        headers makes room: a flood of stalled connections from many addresses then churns
        through its own connections, and a client that sends its request at once (every
        real one) still gets in. Only when no connection is waiting, or too many are
        already closing, is the newcomer refused.
        """
        if address is not None and self.per_client and self.open[address] >= self.per_client \
                and not self._exempt_address(address):
            self.tally.note("refused_address", address)
            return False
        if total_open - self.evicting >= self.max_total and not self._make_room(address):
            self.tally.note("refused_full", address)
            return False
        if address is not None:
            self.open[address] += 1
        return True

    def _make_room(self, address: str | None) -> bool:
        if not self.waiting or self.evicting >= self.max_evicting:
            return False
        oldest = next(iter(self.waiting))
        del self.waiting[oldest]
        self.evicting += 1
        self.tally.note("evicted", address)
        oldest.evict()
        return True

    def closed(self, address: str | None, evicted: bool = False) -> None:
        if evicted:
            self.evicting -= 1
        if address is None:
            return
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]

    def state(self) -> dict[str, object]:
        """Open connections, the caps, and what was refused or closed since the start."""
        return {"open": sum(self.open.values()), "max": self.max_total, "per_client": self.per_client,
                "waiting_for_headers": len(self.waiting), **dict(sorted(self.tally.totals.items()))}

    def _exempt_address(self, address: str) -> bool:
        if self._exempt_all:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._exempt)


class FoldIntoTally(logging.Filter):
    """uvicorn logs every unparseable request on its own line; count them in the tally instead."""

    MESSAGES: ClassVar[dict[str, str]] = {"Invalid HTTP request received.": "not_http"}

    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally

    def filter(self, record: logging.LogRecord) -> bool:
        kind = self.MESSAGES.get(record.getMessage())
        if kind is None:
            return True
        self.tally.note(kind, None)
        return False
