"""A worker's memory between programs: give freed memory back, and notice when it stays.

glibc keeps freed memory for reuse instead of returning it to the system, and after a
program that freed large tensors it can keep gigabytes: torch's big allocations are
mmapped, but each one freed raises glibc's mmap threshold, so later ones come from the
heap and stay there. ``malloc_trim(0)`` returns the free pages of every arena. What is
still resident after it belongs to something alive (a leak, a cache); a worker holding
more than its allowance is replaced before its next program, so every program starts
with the whole budget.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable

MIB = 1 << 20


def resident_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process (``/proc/<pid>/statm``), 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None on a C library without it (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    fn: Callable[[int], int] = trim
    return fn


class MemoryKeeper:
    """Measures a worker's resident memory at start and after each program."""

    def __init__(self, allowance_bytes: int) -> None:
        self.allowance = allowance_bytes
        self._trim = _malloc_trim()  # looked up before the worker limits itself
        self.baseline = resident_bytes()

    @property
    def can_trim(self) -> bool:
        return self._trim is not None

    def settle(self) -> int:
        """Give free memory back; the resident bytes above the baseline that remain."""
        if self._trim is not None:
            self._trim(0)
        return max(0, resident_bytes() - self.baseline)

    def over(self, kept: int) -> bool:
        return kept > self.allowance
