"""Generated PyTorch programs for the oracle tests.

A program is a list of steps ``(op, i, j)`` over a pool of tensors that starts
with a few leaves; each step appends its result to the pool. Shapes stay ``(4,)``
or scalar so every step is valid, and the ops cover what the graph must show:
reuse (x*x), multi-output nodes (split, unbind, max), constants, detach and
no_grad cuts, and several paths into one leaf.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Step = tuple[str, int, int]
T = torch.Tensor

UNARY: dict[str, Callable[[T], T]] = {
    "sin": torch.sin,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "square": lambda a: a**2,
    "exp_tanh": lambda a: torch.exp(torch.tanh(a)),
    "relu": torch.relu,
    "sum": torch.sum,
    "mean": torch.mean,
    "neg": lambda a: -a,
}
BINARY: dict[str, Callable[[T, T], T]] = {
    "add": torch.add,
    "mul": torch.mul,
    "sub": torch.sub,
    "self_mul": lambda a, _b: a * a,
    "div": lambda a, b: a / (1.5 + torch.tanh(b)),
}


def _const(a: T) -> T:
    return a * torch.tensor(0.5) + torch.full_like(a.detach(), 2.0)


def _split(a: T) -> T:
    if a.dim() == 0:
        return a * 2
    first, second = a.split(2)
    return torch.cat([second, first * 3])


def _unbind(a: T) -> T:
    if a.dim() == 0:
        return a + 1
    parts = a.unbind()
    return parts[0] * parts[3] + parts[1]


def _max(a: T) -> T:
    if a.dim() == 0:
        return a.abs()
    values, _indices = a.reshape(2, 2).max(dim=1)
    return values.sum()


def _detach(a: T, b: T) -> T:
    return a.detach() * b


def _no_grad(a: T, b: T) -> T:
    with torch.no_grad():
        c = a * 2
    return c + b


SPECIAL1: dict[str, Callable[[T], T]] = {"const": _const, "split": _split, "unbind": _unbind, "max": _max}
SPECIAL2: dict[str, Callable[[T, T], T]] = {"detach": _detach, "no_grad": _no_grad}
OPS = sorted([*UNARY, *BINARY, *SPECIAL1, *SPECIAL2])


def make_leaves(seed: int, count: int = 3) -> list[T]:
    gen = torch.Generator().manual_seed(seed)
    leaves = [torch.randn(4, generator=gen).requires_grad_() for _ in range(count - 1)]
    leaves.append(torch.randn((), generator=gen).requires_grad_())
    return leaves


def run(steps: list[Step], leaves: list[T]) -> T:
    """Run the program; the output is a scalar that depends on the last few results."""
    pool: list[T] = list(leaves)
    for op, i, j in steps:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if op in UNARY:
            pool.append(UNARY[op](a))
        elif op in BINARY:
            pool.append(BINARY[op](a, b))
        elif op in SPECIAL1:
            pool.append(SPECIAL1[op](a))
        else:
            pool.append(SPECIAL2[op](a, b))
    tail = pool[-3:]
    out = tail[0].sum()
    for t in tail[1:]:
        out = out + t.sum()
    return out
