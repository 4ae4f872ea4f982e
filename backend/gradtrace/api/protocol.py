"""uvicorn's httptools protocol with deadlines for headers, body and stalled replies, and
connection caps (see :class:`gradtrace.api.connections.ConnectionGuard`).

uvicorn closes idle keep-alive connections, but a connection that has started a
request and stopped (half a header, half a body, or a reply it never reads) stays
open forever, and nothing caps connections per address. The parser already reports
each step of a request (message begun, headers complete, message complete) and the
transport reports a reader that stalls (pause/resume writing), so the deadlines hang
off those callbacks here: no second parser, no proxy, and ``gradtrace serve`` (what
``./scripts/run.sh`` starts) is protected as it is.
"""

from __future__ import annotations

import asyncio
from asyncio import TimerHandle
from collections.abc import Callable
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gradtrace.api.connections import ConnectionGuard

# after answering a request whose body is still arriving (413 for an oversized body), the
# rest of the body is read and dropped for this long (and up to this much) before closing:
# closing with unread data sends a reset, and the client would lose the answer
LINGER_SECONDS = 2.0
LINGER_BYTES = 1 << 20


class _LingeringClose:
    """The transport as uvicorn sees it, except that ``close`` lets the protocol linger."""

    def __init__(self, transport: asyncio.Transport, protocol: GuardedProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def close(self) -> None:
        self._protocol.close_after_draining()


def guarded_protocol(guard: ConnectionGuard) -> type[HttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, bound to one server's guard."""
    return type("GuardedProtocol", (GuardedProtocol,), {"guard": guard})


class GuardedProtocol(HttpToolsProtocol):
    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: TimerHandle | None = None
        self._stall: TimerHandle | None = None
        self._address: str | None = None
        self._refused = False
        self._draining = -1  # bytes dropped since the answer went out; -1: not draining
        self._raw: asyncio.Transport | None = None  # uvicorn holds it wrapped in _LingeringClose
        self._evicted = False

    # -- the connection -------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else None
        if not self.guard.admit(address, len(self.connections)):
            self._refused = True
            transport.write(self.guard.refusal)
            transport.close()
            return
        self._address = address
        self._raw = transport
        super().connection_made(_LingeringClose(transport, self))  # type: ignore[arg-type]
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self.guard.waiting.pop(self, None)
        self._disarm()
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        self.guard.closed(self._address, evicted=self._evicted)
        self._address = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._draining >= 0:
            self._draining += len(data)
            if self._draining > LINGER_BYTES:
                self._close_now()
            return
        between_requests = self.cycle is None or self.cycle.response_complete
        if between_requests and self._deadline is None:  # a keep-alive connection starts its next request
            self._await_headers()
        super().data_received(data)

    # -- the parser's steps ---------------------------------------------------------

    def on_headers_complete(self) -> None:
        self.guard.waiting.pop(self, None)
        self._arm(self.guard.body_timeout, self._body_late)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        self._disarm()
        super().send_400_response(msg)

    def close_after_draining(self) -> None:
        """Close; but if the client is still sending the body of a request already answered,
        send our end's FIN first and drop what still comes for a moment, so the answer
        arrives instead of a connection reset."""
        cycle = self.cycle
        transport = self._raw
        if transport is None:
            return
        body_pending = cycle is not None and cycle.more_body and cycle.response_complete
        if self._draining >= 0 or not body_pending or transport.is_closing() or not transport.can_write_eof():
            self._close_now()
            return
        self._draining = 0
        self._disarm()
        transport.write_eof()
        self.flow.resume_reading()
        self._deadline = self.loop.call_later(LINGER_SECONDS, self._close_now)

    def _close_now(self) -> None:
        if self._raw is not None:
            self._raw.close()

    # -- a reader that stops reading --------------------------------------------------

    def pause_writing(self) -> None:
        if self._stall is None:
            self._stall = self.loop.call_later(self.guard.body_timeout, self._reader_stalled)
        super().pause_writing()

    def resume_writing(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        super().resume_writing()

    # -- deadlines ----------------------------------------------------------------------

    def _await_headers(self) -> None:
        self.guard.waiting[self] = None
        self._arm(self.guard.header_timeout, self._headers_late)

    def evict(self) -> None:
        """Close to make room for a newcomer (see ``ConnectionGuard.admit``)."""
        self._evicted = True
        self._disarm()
        if self._raw is not None:
            self._raw.abort()

    def _arm(self, seconds: float, late: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        self.guard.tally.note("headers_late", self._address)
        self._unset_keepalive_if_required()
        self.transport.write(self.guard.timeout_reply)
        self.transport.close()

    def _body_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        self.guard.tally.note("body_late", self._address)
        cycle = self.cycle
        answered = cycle is not None and cycle.response_started
        if cycle is not None:  # the app's next receive() sees a disconnect, its replies go nowhere
            cycle.disconnected = True
            cycle.message_event.set()
        if not answered:
            self.transport.write(self.guard.timeout_reply)
        self.transport.close()

    def _reader_stalled(self) -> None:
        self._stall = None
        self.guard.tally.note("reply_unread", self._address)
        self.transport.abort()
