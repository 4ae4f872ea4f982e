"""resume_gc: the collector comes back on, and a process with frozen objects is not
made to count them at every trace (gc.get_freeze_count walks each one)."""

from __future__ import annotations

import gc
import importlib
from typing import Any

import pytest

capture_module = importlib.import_module("gradtrace.tracer.capture")  # the package re-exports capture()


def test_frozen_objects_are_counted_once_then_never_again(monkeypatch: Any) -> None:
    counts: list[int] = []

    def counting() -> int:
        counts.append(1)
        return 5  # as if the process had frozen objects

    monkeypatch.setattr(capture_module, "_frozen", False)
    monkeypatch.setattr(gc, "get_freeze_count", counting)
    was = gc.isenabled()
    try:
        for _ in range(3):
            gc.disable()
            capture_module.resume_gc()
            assert gc.isenabled()
    finally:
        if not was:
            gc.disable()
    assert len(counts) == 1


def test_a_process_that_says_it_froze_objects_is_never_counted(monkeypatch: Any) -> None:
    def refuse() -> int:
        raise AssertionError("counted")

    monkeypatch.setattr(capture_module, "_frozen", False)
    monkeypatch.setattr(gc, "get_freeze_count", refuse)
    capture_module.frozen_by_owner()
    gc.disable()
    capture_module.resume_gc()
    assert gc.isenabled()
    with pytest.raises(AssertionError):
        gc.get_freeze_count()
