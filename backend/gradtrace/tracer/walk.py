"""The autograd graph as torch sees it: an iterative walk over ``next_functions``.

Iterative, not recursive: a 50,000-node chain must not meet Python's recursion
limit. The order is a depth-first pre-order from the roots, following each
node's inputs in ``input_nr`` order, so the same program always walks the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gradtrace.core.errors import GradtraceError
from gradtrace.core.messages import register

Node = Any  # torch.autograd.graph.Node; its Python wrappers are hashable by identity

register(
    {
        "graph_too_large": {
            "en": "The autograd graph has more than {limit} nodes, too many to draw.",
            "ko": "autograd 그래프의 노드가 {limit}개를 넘어 그릴 수 없습니다.",
            "hint_en": "Use fewer operations, or fewer loop iterations, before calling backward().",
            "hint_ko": "backward()를 호출하기 전의 연산이나 반복 횟수를 줄여 보세요.",
        }
    }
)


class Walk:
    """Every node reachable from some roots, in discovery order, kept across calls."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.nodes: list[Node] = []
        self.children: dict[Node, tuple[tuple[Node | None, int], ...]] = {}  # next_functions, read once
        self._orders: dict[tuple[Node, ...], list[Node]] = {}  # a graph never changes: walk it once

    def add(self, roots: Iterable[Node]) -> list[Node]:
        """The nodes reachable from ``roots``, in depth-first pre-order; remembers new ones."""
        start = tuple(r for r in roots if r is not None)
        known = self._orders.get(start)
        if known is not None:
            return known
        stack = list(reversed(start))
        mark: set[Node] = set()
        order: list[Node] = []
        children, nodes = self.children, self.nodes
        while stack:
            node = stack.pop()
            if node in mark:
                continue
            mark.add(node)
            order.append(node)
            edges = children.get(node)
            if edges is None:
                edges = children[node] = node.next_functions
                nodes.append(node)
                if len(nodes) > self.limit:
                    raise GradtraceError("limit", "graph_too_large", {"limit": self.limit})
            for child, _ in reversed(edges):
                if child is not None and child not in mark:
                    stack.append(child)
        self._orders[start] = order
        return order
