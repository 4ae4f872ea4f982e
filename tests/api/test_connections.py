"""The connection guard's rules, without a server: caps per address and in all, trusted
proxies exempt, the cap kept under the open-file limit, refusals logged once per interval.
(``tests/e2e/test_serve_guard.py`` drives the same guard through a real server.)"""

from __future__ import annotations

import logging

import orjson
import pytest

from gradtrace.api.connections import (
    AUTO_MAX_CONNECTIONS,
    RESERVED_FDS,
    ConnectionGuard,
    Tally,
    connection_cap,
)
from gradtrace.service import Settings


def _guard(**settings: object) -> ConnectionGuard:
    return ConnectionGuard(Settings.load(env={}, **settings), open_file_limit=100_000)


@pytest.mark.parametrize(("asked", "fd_limit", "cap"), [
    (0, 100_000, AUTO_MAX_CONNECTIONS),
    (0, 4096, 2048),
    (10_000, 20_000, 10_000),
    (10_000, 8192, 8192 - RESERVED_FDS),
    (0, 1024, 512),  # a low limit: half for connections, half for the rest
    (50, 100, 50),
])
def test_the_cap_stays_under_the_open_file_limit(asked: int, fd_limit: int, cap: int) -> None:
    assert connection_cap(asked, fd_limit) == cap


def test_one_address_is_capped_and_its_slots_come_back() -> None:
    guard = _guard(client_connections=3)
    assert [guard.admit("10.0.0.1", 0) for _ in range(4)] == [True, True, True, False]
    assert guard.admit("10.0.0.2", 3), "another address has slots of its own"
    guard.closed("10.0.0.1")
    assert guard.admit("10.0.0.1", 3)
    assert guard.open == {"10.0.0.1": 3, "10.0.0.2": 1}
    for _ in range(3):
        guard.closed("10.0.0.1")
    assert "10.0.0.1" not in guard.open


def test_the_total_cap_refuses_everyone() -> None:
    guard = _guard(max_connections=5)
    assert not guard.admit("10.0.0.9", 5) and guard.admit("10.0.0.9", 4)


@pytest.mark.parametrize(("proxies", "address", "exempt"), [
    ("10.0.0.2", "10.0.0.2", True),
    ("10.0.0.0/24", "10.0.0.77", True),
    ("10.0.0.0/24", "10.0.1.1", False),
    ("*", "192.168.1.5", True),
    ("", "127.0.0.1", False),
    ("not-an-address", "10.0.0.2", False),
])
def test_trusted_proxies_are_not_capped(proxies: str, address: str, exempt: bool) -> None:
    guard = _guard(client_connections=1, trusted_proxies=proxies)
    guard.admit(address, 0)
    assert guard.admit(address, 1) is exempt


def test_no_per_address_cap_when_turned_off() -> None:
    guard = _guard(client_connections=0)
    assert all(guard.admit("10.0.0.1", n) for n in range(500))


def test_canned_replies_are_typed_http() -> None:
    guard = _guard()
    for raw, status in ((guard.refusal, b"503"), (guard.timeout_reply, b"408")):
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 " + status) and b"connection: close" in head
        assert f"content-length: {len(body)}".encode() in head
        error = orjson.loads(body)["error"]
        assert error["type"] and error["code"].startswith("service_") and error["message"]


def test_refusals_are_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    tally = Tally(interval=3600)
    with caplog.at_level(logging.WARNING, logger="gradtrace.api"):
        for n in range(5000):
            tally.note("refused_full", f"10.0.{n % 3}.1")
        assert len(caplog.records) == 1  # the first at once; the rest wait for the interval
        tally.flush()
    assert len(caplog.records) == 2
    assert "4999 refused (server full)" in caplog.records[1].getMessage()


class _Waiting:
    """A connection still waiting for its request's headers, as the guard sees one."""

    def __init__(self) -> None:
        self.evicted = False

    def evict(self) -> None:
        self.evicted = True


def test_a_full_server_makes_room_by_closing_the_longest_waiting() -> None:
    guard = _guard(max_connections=2)
    oldest, newer = _Waiting(), _Waiting()
    guard.waiting.update({oldest: None, newer: None})
    assert guard.admit("10.0.0.5", 2)
    assert oldest.evicted and not newer.evicted and guard.evicting == 1
    assert guard.admit("10.0.0.6", 3), "the one closing no longer counts"
    assert newer.evicted and not guard.waiting
    assert not guard.admit("10.0.0.7", 4), "nobody waiting: refused"
    guard.closed(None, evicted=True)
    assert guard.evicting == 1
