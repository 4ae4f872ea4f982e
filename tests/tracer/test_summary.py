"""Value summaries: full data up to the cap, else head + statistics + grid; JSON-safe numbers."""

from __future__ import annotations

import math

import pytest
import torch

from gradtrace.schema import Summary
from gradtrace.tracer.summary import COMPACT, FULL, Summaries, rounded


def summarize(*tensors: torch.Tensor, compact: bool = False) -> list[dict]:
    s = Summaries()
    out = [s.add(t) for t in tensors]
    s.flush(COMPACT if compact else FULL)
    for summary in out:
        Summary.model_validate(summary)
    return out


def test_small_tensors_ship_in_full_with_float32_digits() -> None:
    a, b, c = summarize(torch.tensor(0.1), torch.tensor([[1, 2], [3, 4]]), torch.tensor([True, False]))
    assert a == {"shape": [], "dtype": "float32", "numel": 1, "data": 0.1}
    assert b["data"] == [[1, 2], [3, 4]] and b["dtype"] == "int64"
    assert c["data"] == [True, False]


def test_nan_and_infinity_become_strings() -> None:
    (s,) = summarize(torch.tensor([float("nan"), float("inf"), -float("inf"), 1.5]))
    assert s["data"] == ["NaN", "Infinity", "-Infinity", 1.5]


def test_large_tensors_get_head_stats_over_finite_values_and_a_grid() -> None:
    t = torch.arange(100.0).reshape(10, 10)
    t[0, 0] = float("nan")
    (s,) = summarize(t)
    assert "data" not in s and s["head"][:3] == ["NaN", 1.0, 2.0]
    assert s["stats"]["min"] == 1.0 and s["stats"]["max"] == 99.0 and s["stats"]["nan"] == 1
    assert s["stats"]["mean"] == pytest.approx(torch.arange(1.0, 100.0).mean().item())
    assert s["grid"]["rows"] == 10 and s["grid"]["data"][9][9] == 99.0
    (all_nan,) = summarize(torch.full((100,), float("nan")))
    assert all_nan["stats"]["min"] is None and all_nan["stats"]["nan"] == 100


def test_compact_detail_ships_less() -> None:
    (s,) = summarize(torch.arange(20.0).reshape(4, 5), compact=True)
    assert len(s["head"]) == 4 and "grid" not in s


def test_empty_tensors_and_the_same_tensor_twice() -> None:
    e = torch.zeros(2, 0)
    s = Summaries()
    first, again = s.add(e), s.add(e)
    s.flush()
    assert first is again and first["data"] == [[], []]


def test_rounding_keeps_eight_significant_digits() -> None:
    x = torch.tensor([0.1, 123456789.0, 1e-30, 0.0, -2.5, math.inf], dtype=torch.float32).double()
    assert rounded(x).tolist() == [0.1, 123456790.0, 1e-30, 0.0, -2.5, math.inf]
