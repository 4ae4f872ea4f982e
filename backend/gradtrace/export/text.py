"""Short human-readable text for a value summary, shared by the DOT and HTML views."""

from __future__ import annotations

from typing import Any

MAX_ITEMS = 6


def number_text(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)  # "NaN", "Infinity", "-Infinity"


def _flat(data: Any, out: list[Any], limit: int) -> None:
    if isinstance(data, list):
        for d in data:
            if len(out) > limit:
                return
            _flat(d, out, limit)
    else:
        out.append(data)


def summary_text(summary: dict[str, Any] | None) -> str:
    """``2``, ``[1, 2, 3]``, ``[0.1, 0.2, … ] (64)`` or ``(128, 64) mean=0.01 std=1``."""
    if not summary:
        return "?"
    if summary.get("shape") == [] and "data" in summary:
        return number_text(summary["data"])
    if "data" in summary and summary["data"] is not None:
        items: list[Any] = []
        _flat(summary["data"], items, MAX_ITEMS)
        text = ", ".join(number_text(v) for v in items[:MAX_ITEMS])
        more = f", … ({summary['numel']})" if summary["numel"] > MAX_ITEMS else ""
        return f"[{text}{more}]"
    shape = "×".join(str(s) for s in summary.get("shape", []))
    stats = summary.get("stats")
    if stats:
        return f"{shape} mean={number_text(stats.get('mean'))} std={number_text(stats.get('std'))}"
    return f"{shape} {summary.get('dtype', '')}".strip()
