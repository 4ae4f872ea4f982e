"""Rounding to significant digits gives the same numbers however many values are rounded at once.

Big tensors are rounded in runs (so that torch keeps the work on the calling thread); the
oracle is Python's own ``%.8g`` formatting, value by value.
"""

from __future__ import annotations

import math
import time

import pytest
import torch

from gradtrace.tracer.summary import SERIAL_NUMEL, rounded


def _spread(n: int) -> torch.Tensor:
    """Values from 1e-20 to 1e20, with zeros, infinities and a NaN among them."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, dtype=torch.float64, generator=gen)
    x = x * torch.pow(10.0, torch.randint(-20, 20, (n,), generator=gen).double())
    x[::97] = 0.0
    x[5], x[6], x[7] = math.inf, -math.inf, math.nan
    return x


@pytest.mark.parametrize("n", [SERIAL_NUMEL - 1, SERIAL_NUMEL, 5 * SERIAL_NUMEL + 3])
def test_rounded_matches_python_formatting(n: int) -> None:
    x = _spread(n)
    out = rounded(x.reshape(-1, 1) if n % 2 else x)
    assert out.shape == (x.reshape(-1, 1) if n % 2 else x).shape
    for value, got in zip(x.tolist(), out.reshape(-1).tolist(), strict=True):
        if math.isnan(value):
            assert math.isnan(got)
        else:
            assert math.isclose(got, float(f"{value:.8g}"), rel_tol=1e-15)


def test_big_rounding_stays_on_the_calling_thread() -> None:
    """The process spends about what the calling thread does (no worker threads woken)."""
    x = _spread(64 * SERIAL_NUMEL).abs() + 1.0
    rounded(x)
    process, thread = time.process_time(), time.thread_time()
    for _ in range(5):
        rounded(x)
    spent_process, spent_thread = time.process_time() - process, time.thread_time() - thread
    if torch.get_num_threads() == 1:
        pytest.skip("torch runs on one thread here")
    assert spent_process < 1.5 * spent_thread + 0.01
