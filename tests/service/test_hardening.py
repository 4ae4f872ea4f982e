"""The worker's OS limits, applied in a real child process and probed from inside it."""

from __future__ import annotations

import multiprocessing
import os
import resource
import subprocess
import threading
from typing import Any

import pytest

from gradtrace.service import hardening


def _probe(queue: Any, budget_mb: int, folder: str) -> None:
    try:
        queue.put(_try_everything(budget_mb, folder))
    except BaseException as exc:
        queue.put({"crash": repr(exc)})


def _try_everything(budget_mb: int, folder: str) -> dict[str, Any]:
    """Apply the limits like a worker does, then try what an escaped program would."""
    results: dict[str, Any] = {}
    hardening.limit_file_writes()
    hardening.limit_memory(budget_mb)
    results["enforced"] = hardening.limit_processes(headroom=8)
    with open(os.path.join(folder, "escape.txt"), "wb", buffering=0) as handle:  # created, but empty
        try:
            handle.write(b"x")
            results["write"] = "written"
        except OSError as exc:
            results["write"] = exc.errno
    for name, attempt in {
        "fork": os.fork,
        "system": lambda: os.system("true"),
        "subprocess": lambda: subprocess.run(["true"], check=False),
    }.items():
        try:
            attempt()
            results[name] = "started"
        except PermissionError:
            results[name] = "refused"
    try:
        bytearray((budget_mb + 64) << 20)
        results["memory"] = "allocated"
    except MemoryError:
        results["memory"] = "refused"
    bytearray((budget_mb // 4) << 20)  # well inside the budget still works
    thread = threading.Thread(target=lambda: None)  # threads (the tracer needs one) still start
    thread.start()
    thread.join()
    hardening.set_cpu_budget(1.0)
    results["cpu_soft"] = resource.getrlimit(resource.RLIMIT_CPU)[0]
    return results


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_probe, args=(queue, 256, str(tmp_path_factory.mktemp("hardening"))))
    proc.start()
    results: dict[str, Any] = queue.get(timeout=30)
    proc.join(10)
    assert "crash" not in results, results
    return results


def test_file_writes_fail(probed: dict[str, Any]) -> None:
    import errno

    assert probed["write"] == errno.EFBIG


def test_processes_cannot_be_started(probed: dict[str, Any]) -> None:
    assert probed["fork"] == probed["system"] == probed["subprocess"] == "refused"
    if os.geteuid() != 0:
        assert "RLIMIT_NPROC" in probed["enforced"]


def test_memory_ceiling_is_baseline_plus_budget(probed: dict[str, Any]) -> None:
    assert probed["memory"] == "refused"


def test_cpu_budget_is_set(probed: dict[str, Any]) -> None:
    assert probed["cpu_soft"] != resource.RLIM_INFINITY and probed["cpu_soft"] >= 1


def _probe_unprivileged(queue: Any) -> None:
    """As an ordinary user: threads still start, a fork bomb stops at RLIMIT_NPROC."""
    import ctypes
    import encodings.ascii  # noqa: F401 - the interpreter's files may be unreadable to nobody

    try:
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)  # nobody: RLIMIT_NPROC binds from here on
        enforced = hardening.limit_processes(headroom=8)
        for _ in range(20):  # one thread per program, as the tracer does
            thread = threading.Thread(target=lambda: None)
            thread.start()
            thread.join()
        libc = ctypes.CDLL(None, use_errno=True)
        children = []
        for _ in range(200):  # past Python: the raw libc call an escape would use
            pid = libc.fork()
            if pid == 0:
                os._exit(0)  # stays a zombie until reaped, so it keeps counting like a live bomb
            if pid < 0:
                break
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        queue.put({"enforced": enforced, "forks": len(children)})
    except BaseException as exc:
        queue.put({"crash": repr(exc)})


def test_a_fork_bomb_stops_at_rlimit_nproc() -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_probe_unprivileged, args=(queue,))
    proc.start()
    results = queue.get(timeout=60)
    proc.join(10)
    assert "crash" not in results, results
    assert "RLIMIT_NPROC" in results["enforced"]
    assert results["forks"] <= 8
