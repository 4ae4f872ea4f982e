"""The worst CPU time, wall time and memory growth of the hostile runs, printed after the tests."""

from __future__ import annotations

from typing import Any

Row = tuple[str, float, float, int]  # (case, CPU seconds, wall seconds, memory growth in bytes)
ROWS: list[Row] = []


def summary() -> str | None:
    if not ROWS:
        return None
    cpu = max(ROWS, key=lambda row: row[1])
    wall = max(ROWS, key=lambda row: row[2])
    memory = max(ROWS, key=lambda row: row[3])
    return (
        f"hostile programs ({len(ROWS)}): worst CPU {cpu[1]:.2f} s ({cpu[0]}), worst wall {wall[2]:.2f} s "
        f"({wall[0]}), worst memory growth {memory[3] / 2**20:.0f} MiB ({memory[0]})"
    )


def report(terminalreporter: Any) -> None:
    line = summary()
    if line is not None:
        terminalreporter.write_sep("-", "hostile programs: worst case")
        terminalreporter.write_line(line)
