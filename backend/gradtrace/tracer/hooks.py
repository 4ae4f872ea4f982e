"""Registering a post-hook on every autograd node, cheaply.

``node.register_hook`` calls back into Python (``_HookMixin._register_hook``), which
builds an ``OrderedDict`` and a ``RemovableHandle`` (a weakref, a global counter) per
node: on a 50,000-node graph that costs more than the backward itself. While we
register, ``plain_hooks()`` swaps in a function that stores the hook in a plain dict
under our own key and hands that dict back as the "handle"; ``unhook_all`` takes our
hooks out again. The C++ side keeps one dict per node either way. If torch's
internals differ (the attribute is missing), the stock path is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch.autograd.function as _function

Hook = Callable[[Any, Any], None]
_OURS = object()  # a key torch's integer handle ids can never equal


def _register_plain(hooks: dict[Any, Hook] | None, hook: Hook) -> tuple[dict[Any, Hook], dict[Any, Hook]]:
    if hooks is None:
        hooks = {}
    hooks[_OURS] = hook
    return hooks, hooks


@contextmanager
def plain_hooks() -> Iterator[None]:
    """Inside, ``node.register_hook`` returns the node's hook dict instead of a handle.

    Only the calling thread registers hooks while this is active (the run stage is
    single-threaded); the original is always restored.
    """
    mixin = getattr(_function, "_HookMixin", None)
    original = mixin.__dict__.get("_register_hook") if mixin is not None else None
    if original is None:
        yield
        return
    mixin._register_hook = staticmethod(_register_plain)  # type: ignore[union-attr]
    try:
        yield
    finally:
        mixin._register_hook = original  # type: ignore[union-attr]


def unhook_all(handles: list[Any]) -> None:
    """Remove hooks registered with or without ``plain_hooks``."""
    for handle in handles:
        if isinstance(handle, dict):  # ours, in a plain dict or in the node's OrderedDict
            handle.pop(_OURS, None)
        else:
            handle.remove()
