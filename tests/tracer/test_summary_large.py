"""Summaries of big tensors, read where they lie, against float64 statistics from plain torch.

Cases are data: shape, dtype, how the tensor is laid out (contiguous, transposed,
sliced), and what it holds (NaN, ±Inf). The oracle is a float64 copy reduced by
torch's own ``min``/``max``/``mean``/``std`` over the finite values.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from gradtrace.schema import Summary
from gradtrace.tracer import summary as summary_module
from gradtrace.tracer.summary import FULL, Summaries

CASES: list[tuple[str, list[int], torch.dtype, str, str]] = [
    # name, shape, dtype, layout, contents
    ("rows_batched", [40, 50], torch.float32, "contiguous", "normal"),
    ("conv_activation", [2, 16, 40, 40], torch.float32, "contiguous", "normal"),
    ("transposed_weight", [300, 200], torch.float32, "transposed", "normal"),
    ("sliced", [8, 64, 64], torch.float32, "sliced", "normal"),
    ("double", [100, 100], torch.float64, "contiguous", "normal"),
    ("half", [64, 128], torch.float16, "contiguous", "normal"),
    ("bfloat16", [64, 128], torch.bfloat16, "transposed", "normal"),
    ("integers", [5000], torch.int64, "contiguous", "normal"),
    ("with_nan_and_inf", [100, 100], torch.float32, "contiguous", "nonfinite"),
    ("with_nan_transposed", [120, 90], torch.float32, "transposed", "nonfinite"),
    ("far_from_zero_rows", [30, 40], torch.float32, "contiguous", "offset"),
    ("far_from_zero", [50, 100, 10], torch.float32, "sliced", "offset"),
    ("constant", [200, 300], torch.float32, "contiguous", "constant"),
]


def _make(shape: list[int], dtype: torch.dtype, layout: str, contents: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    if dtype.is_floating_point:
        t = (torch.randn(shape, generator=g, dtype=torch.float64) * 3 + 1).to(dtype)
    else:
        t = torch.randint(-50, 50, shape, generator=g, dtype=dtype)
    if contents == "offset":  # the sum of squares cancels: the spread is 1e-9 of it
        t = (t.double() * 1e-3 + 1000).to(dtype)
    if contents == "constant":
        t = torch.full(shape, 0.1, dtype=dtype)
    if contents == "nonfinite":
        flat = t.view(-1)
        flat[::97] = float("nan")
        flat[5] = float("inf")
        flat[11] = -float("inf")
    if layout == "transposed":
        return t.reshape(shape[::-1]).t() if len(shape) == 2 else t
    if layout == "sliced":
        return t[:, ::2, 1:]
    return t


def _json(v: float, tolerance: float) -> Any:
    """How JSON carries a number: NaN and ±Inf as strings, the rest to within ``tolerance``."""
    if v != v:
        return "NaN"
    if v in (float("inf"), -float("inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return pytest.approx(v, rel=tolerance)


def _oracle(t: torch.Tensor) -> dict[str, Any]:
    x = t.double().flatten()
    finite = x[torch.isfinite(x)]
    return {
        "min": finite.min().item(),
        "max": finite.max().item(),
        "mean": finite.mean().item(),
        "std": finite.std().item(),
        "nan": int(torch.isnan(x).sum()),
        "inf": int(torch.isinf(x).sum()),
    }


@pytest.mark.parametrize(("name", "shape", "dtype", "layout", "contents"), CASES, ids=[c[0] for c in CASES])
def test_statistics_head_and_grid_match_plain_torch(
    name: str, shape: list[int], dtype: torch.dtype, layout: str, contents: str
) -> None:
    tensors = [_make(shape, dtype, layout, contents), _make(shape, dtype, layout, "normal") * 2]
    s = Summaries()
    out = [s.add(t) for t in tensors]
    s.flush(FULL)
    tolerance = 1e-2 if dtype in (torch.float16, torch.bfloat16) else 1e-3 if contents == "offset" else 1e-5
    for t, summary in zip(tensors, out, strict=True):
        Summary.model_validate(summary)
        assert summary["shape"] == list(t.shape) and summary["numel"] == t.numel()
        want = _oracle(t)
        stats = summary["stats"]
        for key in ("min", "max", "mean", "std"):
            assert stats[key] == pytest.approx(want[key], rel=tolerance, abs=tolerance), key
        assert stats.get("nan", 0) == want["nan"] and stats.get("inf", 0) == want["inf"]
        expected = t.double().flatten()[: len(summary["head"])].tolist()
        assert summary["head"] == [_json(v, tolerance) for v in expected]
        if t.dim() == 2:
            cells = [[float(v) for v in row] for row in summary["grid"]["data"]]  # float("NaN") reads it back
            grid = torch.tensor(cells, dtype=torch.float64)
            pooled = torch.nn.functional.adaptive_avg_pool2d(t.double()[None, None], grid.shape)[0, 0]
            cell = max(tolerance, 1e-3)  # cells only colour a heatmap: four significant digits
            torch.testing.assert_close(grid, pooled, rtol=cell, atol=cell, equal_nan=True)


def test_huge_tensors_are_summarized_from_a_strided_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary_module, "SAMPLE_ABOVE", 10_000)
    monkeypatch.setattr(summary_module, "SAMPLE", 1_000)
    big = torch.arange(50_000, dtype=torch.float32)
    wide = torch.arange(50_000, dtype=torch.float32).reshape(500, 100).t()
    s = Summaries()
    out = [s.add(big), s.add(wide)]
    s.flush(FULL)
    for summary in out:
        Summary.model_validate(summary)
        stats = summary["stats"]
        assert 900 <= stats["sample"] <= 10_000
        assert 0 <= stats["min"] <= 2_500 and 47_500 <= stats["max"] <= 49_999
        assert stats["mean"] == pytest.approx(25_000, rel=0.01)
    assert out[0]["head"] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert out[1]["head"] == [0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0]


def test_no_tensor_is_widened_to_float64_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what is shipped (heads, statistics, grids) goes through float64."""
    widened: list[int] = []
    original = torch.Tensor.double

    def spy(self: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        widened.append(self.numel())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "double", spy)
    s = Summaries()
    s.add(torch.randn(64, 64, 8))
    s.add(torch.randn(30, 30))
    s.add(torch.randn(100, 100).t())
    s.flush(FULL)
    assert widened and max(widened) <= 16 * 16


def test_views_of_the_same_memory_are_read_once_and_agree() -> None:
    """A saved tensor unpacks as a new object over its value's memory: one summary's work."""
    value = torch.randn(64, 128, generator=torch.Generator().manual_seed(0))
    saved = value.view(64, 128)  # another object, same memory and layout
    other = value.t().contiguous().t()  # same numbers, other memory
    s = Summaries()
    out = [s.add(value), s.add(saved), s.add(other)]
    s.flush(FULL)
    assert out[0] == out[1] and out[0] is not out[1]
    assert out[2]["head"] == out[0]["head"]  # read on its own: sums in another order
    assert out[2]["stats"]["mean"] == pytest.approx(out[0]["stats"]["mean"], rel=1e-5, abs=1e-6)


def test_broadcast_views_of_a_trillion_elements_are_read_by_sample() -> None:
    """Nothing of an ``expand``ed view is copied whole: not for the head, the statistics or the grid."""
    s = Summaries()
    line = s.add(torch.zeros(1).expand(10**12))
    square = s.add(torch.tensor([[2.5]]).expand(10**6, 10**6))
    rows = s.add(torch.arange(3.0).expand(10**7, 3))
    s.flush(FULL)
    for summary in (line, square, rows):
        Summary.model_validate(summary)
        assert summary["stats"]["sample"] <= 2 * summary_module.SAMPLE
    assert line["head"] == [0.0] * 8 and line["stats"]["max"] == 0.0
    assert square["stats"]["mean"] == 2.5 and square["grid"]["data"][15][15] == 2.5
    assert rows["head"] == [0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0]
    assert rows["stats"]["mean"] == pytest.approx(1.0) and rows["stats"]["max"] == 2.0


def test_many_small_tensors_are_stacked_a_bounded_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary_module, "STACK_NUMEL", 1_000)  # ten 10×10 tensors a chunk
    g = torch.Generator().manual_seed(0)
    tensors = [torch.randn(10, 10, generator=g) + i for i in range(35)]
    s = Summaries()
    out = [s.add(t) for t in tensors]
    s.flush(FULL)
    for t, summary in zip(tensors, out, strict=True):
        assert summary["stats"]["mean"] == pytest.approx(t.double().mean().item(), rel=1e-5, abs=1e-6)
        assert summary["stats"]["max"] == pytest.approx(t.max().item())
        assert summary["head"] == pytest.approx(t.flatten()[:8].tolist(), rel=1e-6)
