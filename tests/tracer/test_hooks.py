"""Our hooks come out through torch's handles, every one of them, even when one removal fails."""

from __future__ import annotations

import pytest
import torch

from gradtrace.tracer.hooks import unhook_all


class _Broken:
    def remove(self) -> None:
        raise RuntimeError("this handle cannot be removed")


def test_every_hook_is_removed_though_one_removal_fails() -> None:
    x = torch.ones(3, requires_grad=True)
    y = (x * 2).sum()
    fired: list[str] = []
    nodes = [y.grad_fn, y.grad_fn.next_functions[0][0]]
    handles = [node.register_hook(lambda *_args: fired.append("ours")) for node in nodes]
    user = nodes[0].register_hook(lambda *_args: fired.append("user"))
    with pytest.raises(RuntimeError, match="cannot be removed"):
        unhook_all([handles[0], _Broken(), handles[1]])
    y.backward()
    assert fired == ["user"]  # ours are gone, the user's stays
    user.remove()
