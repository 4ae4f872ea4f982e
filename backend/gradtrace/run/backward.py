"""The cost of ``backward()`` and ``optimizer.step()``, charged before torch runs them.

Neither shows up as interpreter steps: one ``y.backward(retain_graph=True)`` in a
loop can replay thousands of graph nodes, and ``opt.step()`` touches every
parameter. Each op's forward work is written into its autograd node's
``metadata`` (the dict torch keeps there for exactly this kind of note); a
backward pass is charged twice its graph's forward work plus a cost per node.
"""

from __future__ import annotations

from typing import Any

import torch

from gradtrace.run import budget
from gradtrace.run.shapes import ELEMENT_COST, size_of

NODE_COST = 100_000  # per autograd node a backward pass visits: the engine spends microseconds on each
STEP_COST = 8 * ELEMENT_COST  # an optimizer reads and writes each parameter a few times
_WORK = "gradtrace_work"
_GRAPH = "gradtrace_graph_work"


def mark(result: object, work: int) -> None:
    """Remember on ``result``'s autograd node the work that produced it."""
    grad_fn = getattr(result, "grad_fn", None) if isinstance(result, torch.Tensor) else None
    if grad_fn is not None and work > 0:
        grad_fn.metadata[_WORK] = grad_fn.metadata.get(_WORK, 0) + work


def charge_backward(tensor: torch.Tensor) -> None:
    root = tensor.grad_fn
    if root is not None:
        budget.budget().work(graph_work(root))


def graph_work(root: Any) -> int:
    """Twice the forward work of the graph under ``root`` plus a cost per node (cached on the root)."""
    cached = root.metadata.get(_GRAPH)
    if cached is not None:
        return int(cached)
    limit = budget.budget().limits.graph_nodes
    seen, stack, total = {root}, [root], 0
    while stack:
        node = stack.pop()
        total += NODE_COST + 2 * node.metadata.get(_WORK, 0) if hasattr(node, "metadata") else NODE_COST
        for child, _ in node.next_functions:
            if child is not None and child not in seen:
                seen.add(child)
                stack.append(child)
        if len(seen) > limit:
            break  # bigger than anything the tracer would draw: charge what was counted
    root.metadata[_GRAPH] = total
    return total


PARAM_STEPS = 20  # an optimizer visits each parameter entry in Python: about twenty interpreter steps


def charge_step(optimizer: torch.optim.Optimizer) -> None:
    """Charge a step's arithmetic, and the state buffers its first step allocates.

    Adam keeps two running averages per parameter and does about twice SGD's passes;
    SGD with momentum keeps one buffer. Both buffers are real memory the budget must see.
    """
    entries = [p for group in optimizer.param_groups for p in group["params"]]
    budget.budget().step(PARAM_STEPS * len(entries))  # torch's Python loop visits every entry
    params = [p for p in entries if p.grad is not None]
    adam = isinstance(optimizer, torch.optim.Adam)
    buffers = 2 if adam else int(any(group.get("momentum", 0) for group in optimizer.param_groups))
    run = budget.budget()
    run.work((2 if adam else 1) * STEP_COST * sum(size_of(p) for p in params))
    for parameter in params if buffers else ():
        if not optimizer.state.get(parameter):  # its first step: the buffers are about to exist
            for _ in range(buffers):
                run.created(size_of(parameter))
