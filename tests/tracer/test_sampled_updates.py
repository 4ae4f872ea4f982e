"""A long loop's sampled-out passes take their updates with them, and only theirs.

Oracle: the loop's own structure. Each iteration zeroes, runs one pass and steps, so
every pass shown keeps exactly one step after it and (but the last) one zeroing; the
write made before any pass stays.
"""

from __future__ import annotations

from collections import Counter

from gradtrace.pipeline import trace_source

LOOP = """import torch
w = torch.tensor([1.0, -2.0], requires_grad=True)
start = w * 2
with torch.no_grad():
    w += 1.0
opt = torch.optim.SGD([w], lr=0.01)
for i in range(60):
    opt.zero_grad()
    loss = (w * w).sum()
    loss.backward()
    opt.step()
"""


def test_each_shown_pass_keeps_its_own_updates() -> None:
    graph = trace_source(LOOP)
    shown = [p["index"] for p in graph["backward_passes"]]
    assert graph["pass_count"] == 60 and len(shown) < 60
    kinds = Counter((u["after_pass"], u["kind"]) for u in graph["updates"])
    assert kinds[(None, "inplace")] == 1
    for index in shown:
        assert kinds[(index, "optimizer_step")] == 1
        assert kinds[(index, "zero_grad")] == (0 if index == 59 else 1)
    assert {after for after, _kind in kinds} == {None, *shown}
