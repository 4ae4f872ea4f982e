"""The worker pool: programs run in separate processes, never on the event loop.

Each slot owns one worker process and one pipe. A slot takes a job from a bounded
queue, sends it, and waits for the reply on a helper thread (so the event loop
stays free) with a wall-clock deadline. Past the deadline the worker is killed
with SIGKILL and replaced; a worker that dies for any other reason is replaced
too. Only the job it was running fails; every other request carries on.

Workers come from a ``forkserver`` that has already imported torch: forking that
single-threaded server is safe (no torch threads are running in it) and a fresh
worker costs a fork and a warm-up instead of a full ``import torch``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from gradtrace.core.errors import ErrorType, GradtraceError
from gradtrace.core.limits import Limits
from gradtrace.service import messages as _messages  # noqa: F401 - registers the service's messages
from gradtrace.service.fairqueue import FairQueue, LineFull
from gradtrace.service.memory import MIB, resident_bytes
from gradtrace.service.protocol import Job, ProtocolError, decode_reply
from gradtrace.service.settings import Settings
from gradtrace.service.worker import WorkerConfig, worker_main

log = logging.getLogger("gradtrace.service")
T = TypeVar("T")

# Imported once by the forkserver, so each new worker starts with them (copy-on-write).
# torch._dynamo is what torch.optim pulls in on first use (with sympy): seconds, not ms.
PRELOAD = ["torch", "torch._dynamo", "torch.optim", "gradtrace.service.worker", "gradtrace.pipeline",
           "gradtrace.export"]
START_TIMEOUT = 180.0
MAX_WAIT = 60.0


class Overloaded(Exception):
    """No room in the queue (or no worker came up in time); retry after some seconds."""

    def __init__(self, retry_after: int, code: str = "service_overloaded") -> None:
        super().__init__(code)
        self.retry_after = retry_after
        self.code = code


class ClientBusy(Overloaded):
    """This client has as many programs waiting as one client may (the others' still go in)."""

    def __init__(self, retry_after: int, waiting: int) -> None:
        super().__init__(retry_after, "service_client_busy")
        self.waiting = waiting


@dataclass(slots=True)
class Outcome:
    """What a job came to: the rendered body, or an error dict in the job's language."""

    body: bytes = b""
    error: dict[str, Any] | None = None
    cacheable: bool = False
    gzipped: bytes | None = None  # made by the worker, for replies of GZIP_MIN bytes and more

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(eq=False)
class _Slot:
    index: int
    proc: BaseProcess | None = None
    conn: Connection | None = None
    state: str = "starting"  # starting | ready | busy | failed
    jobs: int = 0
    # resident bytes past which a running program is stopped: set only for a worker whose
    # address space is not capped (CUDA, or hardening off), so the server watches instead
    rss_ceiling: int | None = None


@dataclass(eq=False)
class _Item:
    job: Job
    future: asyncio.Future[Outcome]


@dataclass
class _Stats:
    served: int = 0
    restarts: int = 0
    killed: int = 0
    memory_recycles: int = 0
    devices: list[dict[str, Any]] | None = None
    enforced: list[str] = field(default_factory=list)


class WorkerPool:
    def __init__(self, settings: Settings, *, harden: bool = True,
                 program_limits: Limits | None = None) -> None:
        """``program_limits`` replaces the limits programs run under inside the worker
        (default: ``settings.limits``); the parent's wall clock always follows ``settings``."""
        self.settings = settings
        # The forkserver imports torch and is forked for every worker: it must never
        # initialise CUDA. An NVML-based torch.cuda.is_available() does not.
        os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD)
        limits = program_limits or settings.limits
        self._config = WorkerConfig(limits=limits.to_dict(), threads=settings.threads,
                                    workers=settings.workers, use_cuda=_wants_cuda(settings), harden=harden,
                                    max_reply_bytes=settings.max_reply_mb * MIB,
                                    rss_allowance_bytes=settings.worker_rss_mb * MIB)
        # a reply is the body and its gzip copy (at most a little over the body itself)
        self._max_reply = 2 * settings.max_reply_mb * MIB + 4 * MIB
        self._slots = [_Slot(i) for i in range(settings.workers)]
        self._queue: FairQueue[_Item] = FairQueue(settings.client_queue, settings.client_worker_cap())
        self._threads = ThreadPoolExecutor(settings.workers * 2 + 2, thread_name_prefix="gradtrace-pipe")
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = asyncio.Event()
        self.stats = _Stats()
        self.deadline = settings.timeout + 0.5 + 0.1 * settings.timeout

    # -- public -------------------------------------------------------------------

    async def start(self) -> None:
        """Start the slots; workers come up in the background while the server serves."""
        self._tasks = [asyncio.create_task(self._serve(slot)) for slot in self._slots]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        await asyncio.gather(*(self._stop(slot, kill=True) for slot in self._slots))
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def wait_ready(self, timeout: float = START_TIMEOUT) -> bool:
        """True once at least one worker is ready (devices are known then)."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def run(self, job: Job, client: str | None = None) -> Outcome:
        """Run one job on the next free worker, taking turns between clients.

        ``client`` names whose line the job waits in (an IP address; ``None``: the shared
        line, uncapped). Raises :class:`Overloaded` when the queue is full and
        :class:`ClientBusy` when this client's line is.
        """
        idle = sum(1 for slot in self._slots if slot.state == "ready")
        if self._queue.qsize() >= self.settings.queue + idle:
            raise Overloaded(self._retry_after())
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Item(job, future), client)
        except LineFull as full:
            raise ClientBusy(self._retry_after(full.waiting), full.waiting) from None
        try:
            return await asyncio.wait_for(future, MAX_WAIT + self.deadline)
        except TimeoutError:
            raise Overloaded(5, "service_not_ready") from None

    def state(self) -> dict[str, Any]:
        counts = {s: sum(1 for slot in self._slots if slot.state == s)
                  for s in ("ready", "busy", "starting", "failed")}
        return {
            "total": len(self._slots), **counts,
            "queued": self._queue.qsize(), "queue_capacity": self.settings.queue,
            "served": self.stats.served, "restarts": self.stats.restarts, "killed": self.stats.killed,
            "memory_recycles": self.stats.memory_recycles,
        }

    def busy_pids(self) -> list[int]:
        return [s.proc.pid for s in self._slots if s.state == "busy" and s.proc and s.proc.pid]

    def pids(self) -> list[int]:
        return [s.proc.pid for s in self._slots if s.proc and s.proc.pid]

    @property
    def devices(self) -> list[dict[str, Any]] | None:
        return self.stats.devices

    # -- slots --------------------------------------------------------------------

    async def _serve(self, slot: _Slot) -> None:
        """One slot's life: keep a worker up, take jobs, answer them. Never dies on an error."""
        backoff = 0.5
        while True:
            if slot.proc is None or not slot.proc.is_alive():
                if not await self._spawn(slot):
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                backoff = 0.5
            client, item = await self._queue.get()
            try:
                if item.future.done():  # the request gave up while waiting
                    continue
                outcome, retire = await self._handle_safely(slot, item.job)
            finally:
                self._queue.done(client)
            slot.state = "ready"
            self.stats.served += 1
            if not item.future.done():
                item.future.set_result(outcome)
            if retire or slot.jobs >= self.settings.recycle:
                await self._stop(slot, kill=False)

    async def _handle_safely(self, slot: _Slot, job: Job) -> tuple[Outcome, bool]:
        try:
            return await self._handle(slot, job)
        except Exception:  # a bug here must cost one request, not the slot
            log.exception("worker slot %d failed on a job", slot.index)
            return _failure(job, "runtime", "service_worker_lost"), True

    async def _handle(self, slot: _Slot, job: Job) -> tuple[Outcome, bool]:
        if not await self._alive_or_respawned(slot):
            return _failure(job, "runtime", "service_worker_lost"), False
        slot.state = "busy"
        outcome, retire = await self._exchange(slot, job)
        if outcome is None and await self._alive_or_respawned(slot):
            # the job never reached the worker (it had just died): safe to send again
            slot.state = "busy"
            outcome, retire = await self._exchange(slot, job)
        if outcome is None:
            return _failure(job, "runtime", "service_worker_lost"), True
        return outcome, retire

    async def _alive_or_respawned(self, slot: _Slot) -> bool:
        """A worker may have died while idle (e.g. the OOM killer): replace it first."""
        if slot.proc is not None and slot.proc.is_alive():
            return True
        await self._stop(slot, kill=True)
        return await self._spawn(slot)

    async def _spawn(self, slot: _Slot) -> bool:
        slot.state = "starting"
        try:
            slot.proc, conn = await self._off_loop(self._start_process, slot.index)
            slot.conn = conn
            recv = self._off_loop(conn.recv_bytes, self._max_reply)
            header, _ = decode_reply(await asyncio.wait_for(recv, START_TIMEOUT))
            if not header.get("ready"):
                raise ProtocolError("worker did not report ready")
        except (OSError, EOFError, ProtocolError, TimeoutError) as exc:
            log.warning("worker %d failed to start: %s", slot.index, exc)
            await self._stop(slot, kill=True)
            slot.state = "failed"
            return False
        self._note_ready(header)
        slot.rss_ceiling = _rss_ceiling(header, self.settings.memory_mb)
        slot.jobs, slot.state = 0, "ready"
        self.stats.restarts += 1
        return True

    def _note_ready(self, header: dict[str, Any]) -> None:
        if self.stats.devices is None and isinstance(header.get("devices"), list):
            self.stats.devices = header["devices"]
            self.stats.enforced = [str(e) for e in header.get("enforced", [])]
        self._ready.set()

    def _start_process(self, index: int) -> tuple[BaseProcess, Connection]:
        parent_end, child_end = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=worker_main, args=(child_end, self._config), daemon=True,
                                 name=f"gradtrace-worker-{index}")
        proc.start()
        child_end.close()
        return proc, parent_end

    async def _exchange(self, slot: _Slot, job: Job) -> tuple[Outcome | None, bool]:
        """Send a job and wait for its reply within the deadline. Returns (outcome, retire);
        the outcome is None when the job could not even be sent."""
        assert slot.conn is not None and slot.proc is not None
        slot.jobs += 1
        conn = slot.conn
        recv: asyncio.Future[bytes] | None = None
        try:
            await self._off_loop(conn.send_bytes, job.encode())
        except OSError:
            await self._stop(slot, kill=True)
            return None, True
        try:
            recv = asyncio.ensure_future(self._off_loop(conn.recv_bytes, self._max_reply))
            data = await self._reply(slot, recv)
            header, body = decode_reply(data)
        except _OverMemory:
            self.stats.killed += 1
            await self._stop(slot, kill=True, pending=recv)
            return _failure(job, "limit", "service_memory", megabytes=self.settings.memory_mb), True
        except TimeoutError:
            self.stats.killed += 1
            await self._stop(slot, kill=True, pending=recv)
            return _failure(job, "limit", "service_timeout", seconds=f"{self.settings.timeout:g}"), True
        except (EOFError, OSError, ProtocolError):
            code = await self._stop(slot, kill=True, pending=recv)
            return self._death(job, code), True
        except asyncio.CancelledError:
            await self._stop(slot, kill=True, pending=recv)
            raise
        return _outcome(job, header, body), self._retire(slot, header)

    async def _reply(self, slot: _Slot, recv: asyncio.Future[bytes]) -> bytes:
        """The worker's reply within the deadline; a worker whose memory no limit caps is
        looked at ten times a second and stopped past its ceiling."""
        if slot.rss_ceiling is None or slot.proc is None or slot.proc.pid is None:
            return await asyncio.wait_for(asyncio.shield(recv), self.deadline)
        pid, ceiling = slot.proc.pid, slot.rss_ceiling
        end = asyncio.get_running_loop().time() + self.deadline
        while not recv.done():
            left = end - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError
            await asyncio.wait([recv], timeout=min(0.1, left))
            if not recv.done() and resident_bytes(pid) > ceiling:
                raise _OverMemory
        return recv.result()

    def _retire(self, slot: _Slot, header: dict[str, Any]) -> bool:
        retire = bool(header.get("retire"))
        kept = header.get("kept")
        if retire and isinstance(kept, int) and kept > self.settings.worker_rss_mb * MIB:
            self.stats.memory_recycles += 1
            log.info("worker %d replaced: it kept %d MiB after a program", slot.index, kept // MIB)
        return retire

    def _death(self, job: Job, exitcode: int | None) -> Outcome:
        if exitcode == -signal.SIGXCPU:
            return _failure(job, "limit", "service_cpu_time", seconds=f"{self.settings.timeout:g}")
        return _failure(job, "runtime", "service_worker_lost")

    async def _stop(self, slot: _Slot, *, kill: bool, pending: Awaitable[Any] | None = None) -> int | None:
        """End a slot's worker (politely by closing its pipe, or with SIGKILL)."""
        proc, conn = slot.proc, slot.conn
        slot.proc, slot.conn, slot.state = None, None, "starting"
        if proc is None:
            return None
        if kill:
            with contextlib.suppress(OSError, ValueError):
                proc.kill()
        if pending is not None:  # the reader thread ends once the pipe hits EOF
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(pending, 10.0)
        if conn is not None:
            conn.close()
        await self._off_loop(_reap, proc)
        return proc.exitcode

    def _off_loop(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    def _retry_after(self, waiting: int | None = None) -> int:
        if waiting is None:
            waiting = self._queue.qsize() + len(self._slots)
        return max(1, min(30, round(waiting / len(self._slots) * 0.2)))


class _OverMemory(Exception):
    """A watched worker's resident memory passed its ceiling while running a program."""


def _rss_ceiling(ready: dict[str, Any], memory_mb: int) -> int | None:
    """The watch ceiling for a worker that reported no address-space limit of its own."""
    if not ready.get("watch_rss") or not isinstance(ready.get("rss"), int):
        return None
    return int(ready["rss"]) + memory_mb * MIB


def _reap(proc: BaseProcess) -> None:
    proc.join(2.0)
    if proc.exitcode is None:
        with contextlib.suppress(OSError, ValueError):
            proc.kill()
        proc.join(5.0)


def _wants_cuda(settings: Settings) -> bool:
    allowed = settings.allowed_devices()
    return allowed == ("all",) or any(d.startswith("cuda") for d in allowed)


def _failure(job: Job, type_: ErrorType, code: str, **params: Any) -> Outcome:
    return Outcome(error=GradtraceError(type_, code, params).to_dict(job.lang))


def _outcome(job: Job, header: dict[str, Any], body: bytes) -> Outcome:
    if header.get("ok") is True:
        plain = header.get("plain")
        if isinstance(plain, int) and 0 <= plain <= len(body):
            return Outcome(body=body[:plain], cacheable=True, gzipped=body[plain:])
        return Outcome(body=body, cacheable=True)
    error = header.get("error")
    if not isinstance(error, dict):
        return _failure(job, "runtime", "service_worker_lost")
    stable_type = error.get("type") in {"syntax", "not_allowed", "runtime"}
    deterministic = stable_type and error.get("code") != "internal"
    return Outcome(error=error, cacheable=deterministic)
