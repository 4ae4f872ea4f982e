"""The worker pipe's framing and the parent's LRU result cache."""

from __future__ import annotations

import pytest

from gradtrace.service import Job, Result, ResultCache
from gradtrace.service.formats import format_for_path
from gradtrace.service.protocol import ProtocolError, decode_reply, encode_reply


def test_reply_round_trip_keeps_body_bytes() -> None:
    header, body = decode_reply(encode_reply({"ok": True, "note": "안녕 \udcff"}, b"\x00{raw}"))
    assert header == {"ok": True, "note": "안녕 \udcff"}
    assert body == b"\x00{raw}"


@pytest.mark.parametrize("data", [b"", b"\x00\x00", b"\xff\xff\xff\xff{}", b"\x00\x00\x00\x02[]",
                                  b"\x00\x00\x00\x03{x}"])
def test_malformed_replies_are_refused(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_reply(data)


def test_job_round_trip_with_lone_surrogate() -> None:
    job = Job(source="s = '\udcff'", device="cpu", output="y", backward=False, seed=7, format="dot",
              lang="ko")
    assert Job.decode(job.encode()) == job


def test_cache_evicts_least_recently_used() -> None:
    cache = ResultCache(max_entries=2, max_bytes=1 << 20)
    for name in "abc":
        cache.put((name,), Result(200, name.encode(), "application/json"))
        if name == "b":
            assert cache.get(("a",)) is not None  # touch a: b becomes the oldest
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) is not None and cache.get(("c",)) is not None
    assert cache.state()["entries"] == 2


def test_cache_respects_bytes_and_can_be_off() -> None:
    small = ResultCache(max_entries=100, max_bytes=4000)
    for i in range(10):
        small.put((str(i),), Result(200, b"x" * 1000, "application/json"))
    assert small.state()["bytes"] <= 4000
    off = ResultCache(max_entries=0, max_bytes=1 << 20)
    off.put(("a",), Result(200, b"x", "application/json"))
    assert off.get(("a",)) is None


def test_gzip_copy_is_made_once() -> None:
    result = Result(200, b"{}" * 2000, "application/json")
    assert result.gzipped() is result.gzipped()
    assert len(result.gzipped()) < len(result.body)


@pytest.mark.parametrize(("path", "name"), [("out.json", "json"), ("g.DOT", "dot"), ("a.graphml", "graphml"),
                                            ("a.node-link.json", "node-link"), ("noext", "json")])
def test_format_from_extension(path: str, name: str) -> None:
    assert format_for_path(path).name == name
