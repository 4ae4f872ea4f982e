"""The parts of the graph dict that make a training loop: each pass's nodes and leaves, the
updates between passes, and one point per pass for the loss plot.

Filled in by ``GraphBuilder`` once the nodes have their ids; summaries are only asked
for here (``Summaries.add``) and filled in by the builder's one ``flush``.
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch

from gradtrace.core.graph_types import (
    IterationDict,
    PassLeafDict,
    SpanDict,
    SummaryDict,
    UpdateDetailDict,
    UpdateDict,
)
from gradtrace.tracer.record import Key, Node, PassRecord, State, UpdateRecord
from gradtrace.tracer.summary import Summaries, clean

Dict = dict[str, Any]
_SUMMARISED = ("grad", "exp_avg", "exp_avg_sq")
_PLAIN = ("optimizer", "lr", "step", "lr_before", "lr_after")


def number(x: float) -> str:
    """A number as narration writes it: 4 significant digits, a true minus sign, negatives
    in parentheses where they follow an operator (the caller adds those)."""
    if not math.isfinite(x):
        return str(x)
    text = f"{x:.4g}"
    return text.replace("-", "−")


def _factor(x: float) -> str:
    return f"({number(x)})" if x < 0 else number(x)


def sgd_expr(name: str, before: float, lr: float, grad: float, after: float) -> str:
    """``w ← 0.6 − 0.1 × (−4.8) = 1.08``: plain SGD's arithmetic on one number."""
    return f"{name} ← {number(before)} − {_factor(lr)} × {_factor(grad)} = {number(after)}"


def _plotted(x: float | None) -> Any:
    """A plot point as the summaries write numbers: 8 significant digits, NaN and ±Inf as strings."""
    return clean(float(f"{x:.8g}")) if x is not None else None


def _scalar(t: Any) -> float | None:
    if isinstance(t, torch.Tensor) and t.numel() == 1 and t.is_floating_point():
        return float(t.item())
    return None


class TrainingParts:
    """Builds ``backward_passes[i].nodes/leaves``, ``updates`` and ``iterations``."""

    def __init__(self, state: State, tensor_ids: dict[Key, str], summaries: Summaries, nodes: list[Dict]):
        self.s = state
        self.tensor_ids = tensor_ids
        self.sm = summaries
        self.nodes = nodes
        self._labels: dict[str, str] | None = None

    def _summ(self, t: torch.Tensor | dict[str, Any] | None) -> SummaryDict | None:
        """A summary to be filled by the builder's ``flush`` (a plain dict until then); a big
        tensor's update arrives already summarised."""
        if isinstance(t, dict):
            return cast(SummaryDict, t)
        return cast(SummaryDict, self.sm.add(t)) if t is not None else None

    def _id(self, t: torch.Tensor | None) -> str | None:
        return self.tensor_ids.get(id(t)) if t is not None else None

    def label(self, tid: str) -> str:
        """A leaf's name as shown (its first name or parameter path), else its id."""
        if self._labels is None:
            self._labels = {
                n["id"]: n["name"] for n in self.nodes if n.get("kind") == "tensor" and n.get("name")
            }
        return self._labels.get(tid, tid)

    # -- passes -------------------------------------------------------------------------------
    def pass_nodes(
        self, passes: list[Dict], walks: list[list[Node]], op_ids: dict[Node, str], edges: list[Dict]
    ) -> None:
        """Each pass's node ids: its ops, the tensors they made and the tensors fed into them."""
        touching: dict[str, list[str]] = {}
        for edge in edges:
            if edge["kind"] == "output":
                touching.setdefault(edge["source"], []).append(edge["target"])
            elif edge["kind"] == "input":
                touching.setdefault(edge["target"], []).append(edge["source"])
        for out, walk in zip(passes, walks, strict=True):
            ids: dict[str, None] = {}
            for node in walk:
                op_id = op_ids.get(node)
                if op_id is None:
                    continue
                ids[op_id] = None
                for tid in touching.get(op_id, ()):
                    ids[tid] = None
            out["nodes"] = list(ids)

    def pass_leaves(self, out: Dict, p: PassRecord) -> None:
        leaves: list[PassLeafDict] = []
        for leaf in p.leaves:
            tid = self._id(leaf.tensor)
            if tid is None:
                continue
            leaves.append(
                {
                    "node": tid,
                    "value": self._summ(leaf.value),
                    "grad": self._summ(leaf.grad),
                    "grad_after": self._summ(leaf.grad_after),
                }
            )
        if leaves:
            out["leaves"] = leaves

    # -- updates --------------------------------------------------------------------------------
    def updates(self, shown_passes: set[int]) -> list[tuple[UpdateDict, UpdateRecord]]:
        """The updates that follow a pass shown in detail (or come before any), of leaves shown;
        summaries asked for here, ``finish_updates`` adds the arithmetic."""
        out: list[tuple[UpdateDict, UpdateRecord]] = []
        for u in self.s.updates:
            if u.after_pass is not None and u.after_pass not in shown_passes:
                continue
            tid = self._id(u.leaf)
            if u.leaf is not None and tid is None:
                continue  # a leaf the shown graphs never read
            item: UpdateDict = {
                "kind": cast(Any, u.kind),
                "node": tid,
                "before": self._summ(u.before),
                "after": self._summ(u.after),
                "after_pass": u.after_pass,
            }
            if u.span is not None:
                item["span"] = cast(SpanDict, u.span.to_dict())
            detail: dict[str, Any] = {k: u.detail[k] for k in _PLAIN if u.detail.get(k) is not None}
            for key in _SUMMARISED:
                value = u.detail.get(key)
                if isinstance(value, torch.Tensor | dict):
                    detail[key] = self._summ(value)
            if detail:
                item["detail"] = cast(UpdateDetailDict, detail)
            out.append((item, u))
        return out

    def finish_updates(self, updates: list[tuple[UpdateDict, UpdateRecord]]) -> list[UpdateDict]:
        """Plain SGD on a single number: the step written out, ``w ← 0.6 − 0.1 × (−4.8) = 1.08``."""
        out = []
        for item, u in updates:
            node, detail = item["node"], item.get("detail")
            if u.detail.get("plain_sgd") and node is not None and detail is not None:
                values = [_scalar(u.before), _scalar(u.detail.get("grad")), _scalar(u.after)]
                lr = u.detail.get("lr")
                if None not in values and isinstance(lr, float):
                    before, grad, after = (v for v in values if v is not None)
                    detail["expr"] = sgd_expr(self.label(node), before, lr, grad, after)
            out.append(item)
        return out

    # -- the loss plot --------------------------------------------------------------------------
    def iterations(self) -> list[IterationDict]:
        out: list[IterationDict] = []
        for it in self.s.iterations:
            params: Dict = {}
            for leaf, value in it.params:
                tid = self._id(leaf)
                if tid is not None:
                    params[self.label(tid)] = _plotted(value)
            out.append({"pass": it.index, "loss": _plotted(it.loss), "params": params})
        return out
