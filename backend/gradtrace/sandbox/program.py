"""A checked program: the parsed tree plus what is needed to point into the text.

Spans are computed here because ast counts columns in UTF-8 bytes while the
browser counts characters; Korean comments and strings make the two differ.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from gradtrace.core.errors import Span

_NEWLINE = re.compile(r"\r\n|\r|\n")  # the line breaks Python's tokenizer knows


def split_lines(source: str) -> list[str]:
    """Split like the tokenizer does (str.splitlines also breaks on \\x0c, \\u2028...)."""
    return _NEWLINE.split(source)


def char_col(line: str, byte_col: int) -> int:
    """0-based character index of a 0-based UTF-8 byte offset in ``line``."""
    if line.isascii():
        return byte_col
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


@dataclass(eq=False)
class Program:
    """What ``check`` accepted: the text, its tree, and a span cache for the interpreter."""

    source: str
    tree: ast.Module
    lines: list[str] = field(default_factory=list, repr=False)
    _spans: dict[int, Span] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.lines:
            self.lines = split_lines(self.source)

    def span(self, node: ast.AST) -> Span | None:
        """The 1-based, character-column span of ``node`` (cached: the interpreter asks often)."""
        key = id(node)
        cached = self._spans.get(key)
        if cached is None:
            cached = node_span(node, self.lines)
            if cached is None:
                return None
            self._spans[key] = cached
        return cached

    def header_span(self, node: ast.AST, last: ast.AST) -> Span | None:
        """From the start of ``node`` to the end of ``last`` (a ``for`` header, say)."""
        first, end = self.span(node), self.span(last)
        if first is None or end is None:
            return first or end
        return Span(first.line, first.col, end.end_line, end.end_col)


def node_span(node: ast.AST, lines: list[str]) -> Span | None:
    line = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    if line is None or col is None:
        return None
    end_line = getattr(node, "end_lineno", None) or line
    end_col = getattr(node, "end_col_offset", None)
    if end_col is None:
        end_col = col
    return Span(
        line,
        _char(lines, line, col) + 1,
        end_line,
        _char(lines, end_line, end_col) + 1,
    )


def _char(lines: list[str], line: int, byte_col: int) -> int:
    if 1 <= line <= len(lines):
        return char_col(lines[line - 1], byte_col)
    return byte_col
