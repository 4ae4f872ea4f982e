"""A small HTTP/1.1 load client on raw asyncio streams, for ``bench_load.py``.

A general-purpose client (httpx) spends 3–6 ms of CPU on each request; on a
2-core machine that shares its cores with the server, the client then measures
itself. This one pre-encodes every request once, keeps one connection per client
alive, and reads a reply with two buffered reads (head, then ``Content-Length``
bytes), as wrk or h2load would. It speaks only to the server this bench started
or to one on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from dataclasses import dataclass, field


def encode_post(host: str, path: str, body: dict[str, object], gzip: bool = True) -> bytes:
    """One complete request, as a browser sends it (keep-alive, gzip accepted)."""
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n"
        + ("Accept-Encoding: gzip\r\n" if gzip else "")
        + "\r\n"
    )
    return head.encode("ascii") + payload


class BadReply(Exception):
    """The server answered something this client cannot frame."""


async def read_reply(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one response that carries a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
            break
    if length is None:
        raise BadReply(head.decode("latin-1")[:200])
    return status, await reader.readexactly(length)


@dataclass
class Tally:
    """What the clients of one level saw."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, status: int, seconds: float) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1


class Connection:
    """One keep-alive connection: send a request, wait for its reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int, local_host: str | None = None) -> Connection:
        """``local_host`` (e.g. 127.0.0.7) makes this connection a client of its own."""
        local = (local_host, 0) if local_host else None
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 24, local_addr=local)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        return await read_reply(self.reader)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def drive(connections: list[Connection], requests: list[bytes], seconds: float) -> Tally:
    """Keep every connection busy for ``seconds``; together they walk ``requests`` in turn.

    One shared position, so no two clients send the same request unless the list
    wraps around (with ``--fresh``, each request is then a program run of its own).
    """
    tally = Tally()
    stop = time.perf_counter() + seconds
    clock = time.perf_counter
    position = 0

    async def one(conn: Connection) -> None:
        nonlocal position
        while clock() < stop:
            raw = requests[position % len(requests)]
            position += 1
            started = clock()
            status, _ = await conn.request(raw)
            tally.add(status, clock() - started)

    await asyncio.gather(*(one(conn) for conn in connections))
    return tally
