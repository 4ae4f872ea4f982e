"""The worker process: imports torch once, hardens itself, then runs programs forever.

Started by :class:`gradtrace.service.pool.WorkerPool` from a forkserver that has
already imported torch, so a replacement worker is ready in a fraction of a second.
Everything a program produces is serialised here, in the worker, so the parent
only moves bytes.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from gradtrace.core.errors import GradtraceError
from gradtrace.core.limits import Limits
from gradtrace.export.formats import render
from gradtrace.service import hardening
from gradtrace.service.memory import MIB, MemoryKeeper
from gradtrace.service.protocol import Job, encode_reply

WARMUP = (
    "x = torch.ones(2, requires_grad=True)\ny = (x * x + 1).sum()\ny.backward()\n",
    "layer = nn.Linear(3, 2)\nopt = optim.SGD(layer.parameters(), lr=0.1)\n"
    "loss = F.mse_loss(layer(torch.ones(4, 3)), torch.zeros(4, 2))\nloss.backward()\nopt.step()\n",
)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What a worker needs to know; plain values so it crosses the process boundary."""

    limits: dict[str, Any]
    threads: int = 1
    workers: int = 1
    use_cuda: bool = False
    harden: bool = True
    max_reply_bytes: int = 16 * MIB
    rss_allowance_bytes: int = 512 * MIB


# replies at least this big travel with a gzip copy made here, off the server's event loop
GZIP_MIN = 1024


def worker_main(conn: Connection, config: WorkerConfig) -> None:
    """Entry point of a worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    limits = Limits(**config.limits)
    devices, cuda_active = _prepare(config)
    enforced = _harden(limits, config, cuda_active) if config.harden else ["none (turned off)"]
    from gradtrace.tracer import frozen_by_owner, on_big_stack  # torch: the worker's, not the parent's

    gc.freeze()  # start-up objects never need collecting: keeps per-program gc cheap
    frozen_by_owner()
    keeper = MemoryKeeper(config.rss_allowance_bytes)
    # without RLIMIT_AS (CUDA maps device memory into the address space) the server
    # watches this worker's resident memory while it runs a program instead
    watch = cuda_active or not config.harden
    conn.send_bytes(encode_reply({"ready": True, "pid": os.getpid(), "devices": devices,
                                  "enforced": enforced, "rss": keeper.baseline, "watch_rss": watch}))
    on_big_stack(_serve, conn, config, limits, keeper)


def _serve(conn: Connection, config: WorkerConfig, limits: Limits, keeper: MemoryKeeper) -> None:
    """Take jobs until the parent closes the pipe. Runs on one big-stack thread, so each
    program runs there directly instead of on a thread of its own."""
    cpu_budget = limits.wall_seconds * config.threads + 1.0
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if config.harden:
            hardening.set_cpu_budget(cpu_budget)
        header, body = run_job(Job.decode(data), limits, config.max_reply_bytes)
        body = with_gzip_copy(header, body)
        _reset_torch(config.threads)
        kept = keeper.settle()
        header["kept"] = kept
        if keeper.over(kept):  # replaced before its next program, which gets the whole budget
            header["retire"] = True
        conn.send_bytes(encode_reply(header, body))


def with_gzip_copy(header: dict[str, Any], body: bytes) -> bytes:
    """A successful reply's body followed by its gzip copy (``header["plain"]`` says where
    the copy starts): compressing a big graph takes a tenth of a second, which the server's
    event loop would take from every client."""
    if header.get("ok") is not True or len(body) < GZIP_MIN:
        return body
    header["plain"] = len(body)
    return body + gzip.compress(body, compresslevel=5, mtime=0)


def _prepare(config: WorkerConfig) -> tuple[list[dict[str, Any]], bool]:
    """Set torch's threads, list devices, create the CUDA context if used, warm up."""
    import torch

    torch.set_num_threads(config.threads)
    with contextlib.suppress(RuntimeError):  # already set: keep torch's value
        torch.set_num_interop_threads(1)
    devices = describe_devices()
    cuda_active = config.use_cuda and torch.cuda.is_available()
    if cuda_active:
        torch.zeros(1, device="cuda")  # create the CUDA context before any limit is set
    _warm_up()
    return devices, cuda_active


def _warm_up() -> None:
    """Run tiny programs so lazy imports and first-call costs are paid before the limits
    (torch imports some modules on first use, and those may look for a writable /tmp)."""
    tempfile.tempdir = tempfile.gettempdir()  # found while writing is still allowed
    for program in WARMUP:
        try:
            from gradtrace.pipeline import trace_source

            render(trace_source(program), "json")
        except Exception:  # a broken pipeline reports itself on each request
            pass


def _harden(limits: Limits, config: WorkerConfig, cuda_active: bool) -> list[str]:
    enforced = [hardening.limit_file_writes()]
    if cuda_active:
        enforced.append(_limit_cuda_memory(limits.memory_mb))
    else:
        enforced.append(hardening.limit_memory(limits.memory_mb, _stack_reserve()))
    # each worker may hold a couple of tracer threads at once; leave room for all of them
    enforced.append(hardening.limit_processes(headroom=16 + 4 * config.workers * (config.threads + 1)))
    enforced.append(f"CPU time: RLIMIT_CPU = {limits.wall_seconds * config.threads + 1:g} s per program")
    return enforced


def _stack_reserve() -> int:
    """The tracer runs each program on a fresh thread with a huge (virtual) stack."""
    try:
        from gradtrace.tracer.stack import STACK_BYTES
    except ImportError:
        return 64 * hardening.MIB
    return int(STACK_BYTES) + 64 * hardening.MIB


def _limit_cuda_memory(budget_mb: int) -> str:
    """With CUDA, RLIMIT_AS cannot be used (the driver maps device memory into the
    address space); the GPU share of each worker is capped instead."""
    import torch

    for index in range(torch.cuda.device_count()):
        total = torch.cuda.get_device_properties(index).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, budget_mb * hardening.MIB / total), index)
    return (f"memory: GPU memory capped at {budget_mb} MiB per device (allocator fraction); host memory: "
            f"RLIMIT_AS cannot be set with CUDA, the server stops a program past start-up + {budget_mb} MiB "
            f"resident")


def describe_devices() -> list[dict[str, Any]]:
    """The CPU and every CUDA device torch sees, with names and memory."""
    import torch

    devices: list[dict[str, Any]] = [{
        "id": "cpu", "kind": "cpu", "name": _cpu_name(), "memory_bytes": _ram_bytes(),
        "cores": os.cpu_count(),
    }]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append({
                "id": f"cuda:{index}", "kind": "cuda", "name": props.name,
                "memory_bytes": int(props.total_memory), "capability": f"{props.major}.{props.minor}",
            })
    return devices


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "CPU"


def _ram_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def run_job(job: Job, limits: Limits, max_reply: int = 16 * MIB) -> tuple[dict[str, Any], bytes]:
    """Trace one program and serialise it; every failure becomes an error header."""
    started = time.perf_counter()
    try:
        body = _render(job, limits)
        if len(body) > max_reply:
            raise GradtraceError("limit", "service_reply_too_large", {
                "megabytes": f"{len(body) / MIB:.1f}", "limit": f"{max_reply / MIB:g}"})
        header: dict[str, Any] = {"ok": True}
    except GradtraceError as exc:
        if _out_of_memory(exc.detail):  # our RLIMIT_AS stopped an allocation torch attempted
            exc = GradtraceError("limit", "service_memory", {"megabytes": limits.memory_mb}, exc.span)
        header, body = {"ok": False, "error": _error_dict(exc, job.lang)}, b""
    except MemoryError:
        error = GradtraceError("limit", "service_memory", {"megabytes": limits.memory_mb})
        header, body = {"ok": False, "error": error.to_dict(job.lang), "retire": True}, b""
    except Exception as exc:  # whatever a user typed must never become a 500
        error = GradtraceError("runtime", "internal", detail=f"{type(exc).__name__}: {exc}"[:500])
        header, body = {"ok": False, "error": error.to_dict(job.lang), "retire": True}, b""
    header["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return header, body


def _out_of_memory(detail: str | None) -> bool:
    return bool(detail) and any(s in str(detail) for s in ("can't allocate memory", "std::bad_alloc"))


def _error_dict(exc: GradtraceError, lang: str) -> dict[str, Any]:
    """The error in the user's language; if its message cannot be rendered, keep its type."""
    try:
        return exc.to_dict(lang)
    except Exception as failure:  # a message template that chokes on its params
        fallback = GradtraceError(exc.type, "internal", span=exc.span,
                                  detail=f"{exc.code}: {type(failure).__name__}")
        data = fallback.to_dict(lang)
        data["code"] = exc.code
        return data


def _render(job: Job, limits: Limits) -> bytes:
    from gradtrace.pipeline import trace_source

    graph = trace_source(job.source, device=job.device, output=job.output, backward=job.backward,
                         seed=job.seed, limits=limits)
    return render(graph, job.format)


def _reset_torch(threads: int) -> None:
    """Global torch state back to defaults, so no program sees what the last one left."""
    import torch

    torch.set_grad_enabled(True)
    torch.set_default_dtype(torch.float32)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    gc.collect()
