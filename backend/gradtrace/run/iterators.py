"""Iterators the program can hold: always finished lists underneath.

``map``, ``filter``, generator expressions and generator functions compute their
items at once, inside the budget, and hand out a ``ListIterator``: nothing the
program holds is a suspended frame that could run later, outside its run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class ListIterator:
    """A one-pass iterator over computed items (``next()``, ``for``, ``list()``)."""

    __slots__ = ("items", "kind", "position")

    def __init__(self, items: list[Any], kind: str = "iterator") -> None:
        self.items = items
        self.position = 0
        self.kind = kind  # what Python would call it: map, filter, generator…

    def __iter__(self) -> Iterator[Any]:
        while self.position < len(self.items):
            item = self.items[self.position]
            self.position += 1
            yield item

    def __len__(self) -> int:
        """Items left (the builtins size what they walk before walking it)."""
        return len(self.items) - self.position

    def next(self) -> Any:
        if self.position >= len(self.items):
            raise StopIteration
        item = self.items[self.position]
        self.position += 1
        return item

    def __repr__(self) -> str:
        return f"<{self.kind} object>"
