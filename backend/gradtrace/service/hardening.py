"""OS limits a worker sets on itself: the second wall behind the sandbox.

The sandbox is the first wall (no imports, no files, no attribute escapes). These
limits are for the day an escape slips past it. They are applied after torch is
imported and warmed up, so torch's own start-up is not counted against a program.
What each call enforced is reported back to the parent and shown by /api/health.
"""

from __future__ import annotations

import math
import os
import resource
import signal
import subprocess
from typing import Any, NoReturn

MIB = 1 << 20


def vm_size_bytes() -> int:
    """The worker's current address-space size (VmSize), the baseline for RLIMIT_AS."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("VmSize not found in /proc/self/status")


def limit_file_writes() -> str:
    """RLIMIT_FSIZE=0: writing a byte to any regular file fails with EFBIG.

    SIGXFSZ is ignored so the write fails with an error instead of killing the worker.
    Pipes (the parent link) are not files and are unaffected.
    """
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return "file writes: RLIMIT_FSIZE=0 (and no core dumps)"


def limit_memory(budget_mb: int, reserve_bytes: int = 0) -> str:
    """RLIMIT_AS = what torch already reserved + the budget (+ fixed reservations).

    torch reserves a lot of virtual memory at import; a fixed RLIMIT_AS would either
    break torch or allow nothing, so the ceiling is measured from the warmed-up worker.
    ``reserve_bytes`` is address space every program needs but never fills, such as
    the tracer's big-stack thread (virtual, mostly untouched).
    """
    ceiling = vm_size_bytes() + budget_mb * MIB + reserve_bytes
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    return f"memory: RLIMIT_AS = baseline + {budget_mb} MiB ({ceiling // MIB} MiB)"


def limit_processes(headroom: int) -> str:
    """No new processes from Python, and no fork bomb from anywhere.

    Python's fork/exec/spawn calls are replaced and any fork through Python's hooks
    ends the worker. RLIMIT_NPROC counts every process *and thread* of the user, and
    the worker runs programs on a thread of their own, so it cannot be 0: it is set to
    the user's current task count plus ``headroom``. It does not bind root at all.
    """
    _close_python_spawning()
    if os.geteuid() == 0:
        return "new processes: Python fork/exec/spawn closed (RLIMIT_NPROC does not bind root)"
    ceiling = user_task_count() + headroom
    resource.setrlimit(resource.RLIMIT_NPROC, (ceiling, ceiling))
    return (f"new processes: Python fork/exec/spawn closed; "
            f"RLIMIT_NPROC = {ceiling} (user's tasks + {headroom})")


def user_task_count() -> int:
    """Processes and threads of this user, as RLIMIT_NPROC counts them."""
    uid = str(os.getuid())
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:  # the process ended meanwhile
            continue
        if fields.get("Uid", "").split()[:1] == [uid]:
            total += int(fields.get("Threads", "1").strip() or 1)
    return total


def set_cpu_budget(seconds: float) -> None:
    """Let the next program use ``seconds`` more CPU time; past it SIGXCPU ends the worker."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = math.ceil(used + seconds)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise PermissionError("starting processes is not allowed in a gradtrace worker")


def _die_before_fork() -> None:
    """Any fork that reaches Python's at-fork hooks ends the worker instead."""
    os._exit(70)


_SPAWNING = (
    "fork", "forkpty", "system", "popen", "posix_spawn", "posix_spawnp",
    "execv", "execve", "execl", "execle", "execlp", "execlpe", "execvp", "execvpe",
    "spawnv", "spawnve", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnvp", "spawnvpe",
)


def _close_python_spawning() -> None:
    for name in _SPAWNING:
        if hasattr(os, name):
            setattr(os, name, _refuse)
    subprocess.Popen._execute_child = _refuse  # type: ignore[attr-defined]
    try:
        import _posixsubprocess

        _posixsubprocess.fork_exec = _refuse
    except ImportError:  # pragma: no cover - not POSIX
        pass
    os.register_at_fork(before=_die_before_fork)
