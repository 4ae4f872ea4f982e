"""Running on a thread with a large C stack.

Freeing an autograd graph whose nodes have ever had Python wrappers (which every
``next_functions`` walk creates) recurses in C++, one frame per chained node, and
crashes the process near 50,000 nodes on the default 8 MiB stack. Capture,
tracing and the final release of those graphs therefore run on a thread whose
stack is large enough for the graph-size limit, and graphs still owned by user
code are handed to such a thread when their last tensor dies.
"""

from __future__ import annotations

import atexit
import queue
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

STACK_BYTES = 1 << 30  # virtual; only the pages a deep free touches are used
_stack_lock = threading.Lock()


_big_stack_threads: set[int] = set()  # idents of the threads on_big_stack is running


def on_big_stack(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn`` on a fresh thread with a 1 GiB stack and return its result.

    Already on such a thread (a worker runs its whole loop on one), ``fn`` is called
    directly: a new thread costs about a millisecond, a third of a small program.
    """
    if threading.get_ident() in _big_stack_threads:
        return fn(*args, **kwargs)
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        ident = threading.get_ident()
        _big_stack_threads.add(ident)
        try:
            result.append(fn(*args, **kwargs))
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)
        finally:
            _big_stack_threads.discard(ident)

    with _stack_lock:  # stack_size is process-wide state: set it only around start()
        previous = threading.stack_size(STACK_BYTES)
        try:
            thread = threading.Thread(target=target, name="gradtrace-big-stack", daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
    thread.join()
    if error:
        raise error[0]
    return result[0]


_STOP = object()


class _Reaper:
    """One daemon thread with a big stack that drops whatever it is handed."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def drop(self, obj: object) -> None:
        self._start()
        self._queue.put(obj)

    def drain(self) -> None:
        """At exit: let the thread finish what it was handed (killing it mid-free aborts)."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=120)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            with _stack_lock:
                previous = threading.stack_size(STACK_BYTES)
                try:
                    self._thread = threading.Thread(target=self._loop, name="gradtrace-reaper", daemon=True)
                    self._thread.start()
                    atexit.register(self.drain)
                finally:
                    threading.stack_size(previous)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            # The sender may still hold its reference for a moment; wait until ours is
            # the last one (getrefcount counts `item` and its own argument).
            for _ in range(1000):
                if sys.getrefcount(item) <= 2:
                    break
                time.sleep(0.001)
            del item  # the deep free happens here, on this thread's stack


_reaper = _Reaper()


def release_on_big_stack(obj: object) -> None:
    """Hand the last reference to ``obj`` to the reaper thread (the caller must drop theirs)."""
    _reaper.drop(obj)


def free_graph_with_tensor(tensor: Any) -> None:
    """When ``tensor`` dies, free its autograd graph on the reaper thread.

    We keep the root node alive past the tensor's death, then hand it over: the
    graph is then released there instead of on whichever thread dropped the tensor.
    """
    root = getattr(tensor, "grad_fn", None)
    if root is None:
        return
    weakref.finalize(tensor, release_on_big_stack, root).atexit = False
