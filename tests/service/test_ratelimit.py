"""Token buckets: a burst passes, then one request per 60/rate seconds."""

from __future__ import annotations

from gradtrace.service import RateLimiter


def test_burst_then_wait() -> None:
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.check("10.0.0.1", now=0.0) for _ in range(3)] == [0, 0, 0]
    assert limiter.check("10.0.0.1", now=0.0) == 1
    assert limiter.check("10.0.0.2", now=0.0) == 0  # another client has its own bucket
    assert limiter.check("10.0.0.1", now=1.01) == 0  # one token back after a second


def test_loopback_is_exempt_unless_asked() -> None:
    assert all(RateLimiter(1, 1).check("127.0.0.1", now=0.0) == 0 for _ in range(10))
    strict = RateLimiter(1, 1, exempt_loopback=False)
    assert strict.check("127.0.0.1", now=0.0) == 0
    assert strict.check("127.0.0.1", now=0.0) == 60


def test_off_when_rate_is_zero() -> None:
    limiter = RateLimiter(0, 1)
    assert not limiter.enabled
    assert all(limiter.check("10.0.0.1") == 0 for _ in range(100))


def test_memory_is_bounded() -> None:
    limiter = RateLimiter(60, 1, max_clients=100)
    for i in range(1000):
        limiter.check(f"10.0.{i // 256}.{i % 256}", now=0.0)
    assert len(limiter._buckets) == 100
