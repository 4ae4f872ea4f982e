"""What the parent and a worker say to each other over their pipe.

Jobs go down as JSON; replies come up as a length-prefixed JSON header followed by
the raw body (the graph already serialised by the worker, so the parent never
re-encodes it). The parent never unpickles anything a worker sends: a worker runs
untrusted programs, and pickle from it would be a path into the parent.
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass
from typing import Any

_HEADER = struct.Struct(">I")
MAX_HEADER = 1 << 20


@dataclass(frozen=True, slots=True)
class Job:
    """One program to run: everything that decides its result (the cache key too)."""

    source: str
    device: str = "cpu"
    output: str | None = None
    backward: bool = True
    seed: int = 0
    format: str = "json"
    lang: str = "en"

    def key(self) -> tuple[Any, ...]:
        return (self.source, self.device, self.output, self.backward, self.seed, self.format, self.lang)

    def encode(self) -> bytes:
        # stdlib json escapes lone surrogates ("\udcff"), which JSON allows and orjson refuses
        return json.dumps(asdict(self)).encode("ascii")

    @classmethod
    def decode(cls, data: bytes) -> Job:
        return cls(**json.loads(data))


class ProtocolError(Exception):
    """A worker sent something that is not a well-formed reply."""


def encode_reply(header: dict[str, Any], body: bytes = b"") -> bytes:
    head = json.dumps(header).encode("ascii")  # error texts may quote user text, surrogates too
    return _HEADER.pack(len(head)) + head + body


def decode_reply(data: bytes) -> tuple[dict[str, Any], bytes]:
    if len(data) < _HEADER.size:
        raise ProtocolError("short reply")
    (size,) = _HEADER.unpack_from(data)
    if size > MAX_HEADER or _HEADER.size + size > len(data):
        raise ProtocolError("bad header length")
    try:
        header = json.loads(data[_HEADER.size : _HEADER.size + size])
    except ValueError as exc:
        raise ProtocolError("header is not JSON") from exc
    if not isinstance(header, dict):
        raise ProtocolError("header is not an object")
    return header, data[_HEADER.size + size :]
