"""Local derivatives of nodes that make one number: what the capture keeps is what the node
itself answers when called with a gradient of one (torch's own backward, asked directly)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch.nn import functional as F

from gradtrace.tracer.capture import capture

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES: dict[str, Loss] = {
    "sum": lambda x, y: x.sum(),
    "mean": lambda x, y: (x * 2).mean(),
    "mse": lambda x, y: F.mse_loss(x, y),
    "dist": lambda x, y: torch.dist(x, y),
    "select": lambda x, y: (x * 3)[1, 0],
    "dot": lambda x, y: torch.dot(x.flatten(), y.flatten()),
    "bce_logits": lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid()),
    "scalar_times_sum": lambda x, y: x.sum() * x[0, 0],
}


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(3, 2, generator=gen).requires_grad_(), torch.randn(3, 2, generator=gen)


def _asked(loss: torch.Tensor) -> list[torch.Tensor | None]:
    """The root's answer to a gradient of one, single numbers kept, as the capture keeps them."""
    assert loss.grad_fn is not None
    with torch.no_grad():
        grads = loss.grad_fn(torch.ones((), dtype=loss.dtype))
    grads = (grads,) if isinstance(grads, torch.Tensor) else grads
    return [g if isinstance(g, torch.Tensor) and g.numel() == 1 else None for g in grads]


@pytest.mark.parametrize("name", list(LOSSES))
def test_root_local_derivatives_are_the_nodes_own_answer(name: str) -> None:
    x, y = _inputs()
    expected = _asked(LOSSES[name](x, y))
    x, y = _inputs()
    with capture() as cap:
        loss = LOSSES[name](x, y)
        loss.backward()
    kept = cap.state.locals.get(loss.grad_fn)
    assert kept is not None and len(kept) == len(expected)
    for got, want in zip(kept, expected, strict=True):
        assert (got is None) == (want is None)
        if want is not None:
            assert got is not None and torch.equal(got, want)
