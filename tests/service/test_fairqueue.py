"""FairQueue: clients take turns, one client's line is capped, the shared line is not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gradtrace.service.fairqueue import FairQueue, LineFull


def test_clients_take_turns_in_the_order_they_arrived(run_async: Any) -> None:
    async def scenario() -> list[str]:
        queue: FairQueue[str] = FairQueue(per_client=10, max_running=10)
        for i in range(4):
            queue.put_nowait(f"flood{i}", "10.0.0.1")
        queue.put_nowait("b0", "10.0.0.2")
        queue.put_nowait("c0", "10.0.0.3")
        queue.put_nowait("b1", "10.0.0.2")
        return [(await queue.get())[1] for _ in range(7)]

    assert run_async(scenario()) == ["flood0", "b0", "c0", "flood1", "b1", "flood2", "flood3"]


def test_a_client_that_comes_back_joins_at_the_end(run_async: Any) -> None:
    async def scenario() -> list[str]:
        queue: FairQueue[str] = FairQueue(per_client=10, max_running=10)
        queue.put_nowait("a0", "a")
        client, first = await queue.get()
        queue.done(client)
        queue.put_nowait("b0", "b")
        queue.put_nowait("a1", "a")
        return [first, (await queue.get())[1], (await queue.get())[1]]

    assert run_async(scenario()) == ["a0", "b0", "a1"]


def test_the_client_with_fewer_jobs_running_goes_first(run_async: Any) -> None:
    async def scenario() -> list[tuple[str | None, str]]:
        queue: FairQueue[str] = FairQueue(per_client=10, max_running=10)
        queue.put_nowait("a0", "a")
        queue.put_nowait("a1", "a")
        taken = [await queue.get()]  # a0 runs
        queue.put_nowait("b0", "b")  # b's line is younger than a's, but b runs nothing
        taken.append(await queue.get())
        queue.done("a")  # a still waits (a1), so it is remembered as served at turn 1
        queue.put_nowait("local0")
        taken += [await queue.get(), await queue.get()]
        return taken

    assert run_async(scenario()) == [("a", "a0"), ("b", "b0"), (None, "local0"), ("a", "a1")]


def test_a_full_line_refuses_only_its_own_client(run_async: Any) -> None:
    async def scenario() -> FairQueue[str]:
        queue: FairQueue[str] = FairQueue(per_client=2, max_running=10)
        queue.put_nowait("a0", "a")
        queue.put_nowait("a1", "a")
        with pytest.raises(LineFull) as full:
            queue.put_nowait("a2", "a")
        assert full.value.waiting == 2
        queue.put_nowait("b0", "b")
        for i in range(5):
            queue.put_nowait(f"local{i}")  # the shared line has no cap
        assert queue.qsize() == 8 and queue.waiting("a") == 2
        return queue

    assert run_async(scenario()).qsize() == 8


def test_get_waits_for_a_job(run_async: Any) -> None:
    async def scenario() -> str:
        queue: FairQueue[str] = FairQueue(per_client=1, max_running=10)
        waiter = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        queue.put_nowait("late", "a")
        return (await asyncio.wait_for(waiter, 1))[1]

    assert run_async(scenario()) == "late"


def test_one_client_holds_at_most_max_running_even_when_others_are_idle(run_async: Any) -> None:
    async def scenario() -> list[str]:
        queue: FairQueue[str] = FairQueue(per_client=10, max_running=1)
        queue.put_nowait("a0", "a")
        queue.put_nowait("a1", "a")
        for i in range(2):
            queue.put_nowait(f"local{i}")  # the shared line is not capped
        taken = [(await queue.get())[1] for _ in range(3)]
        blocked = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0.01)
        assert not blocked.done()  # a1 waits though a worker is free: a0 still runs
        queue.done("a")
        taken.append((await asyncio.wait_for(blocked, 1))[1])
        return taken

    assert run_async(scenario()) == ["a0", "local0", "local1", "a1"]
