"""Assembling the graph dict (the shape of ``gradtrace.schema.GraphModel``) from a capture.

Plain dicts, not pydantic models: building 50,000 models per request would cost
more than the trace. Keys whose value is the schema's default are left out to
keep the JSON small; ``value`` is always present because the schema requires it.
Ids are given in walk order (``op0`` is the output's producer), so the same
program always gets the same ids.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import torch

from gradtrace.core.errors import Span
from gradtrace.tracer.nodes import ACCUMULATE, op_label, output_meta, saved_items
from gradtrace.tracer.record import Key, Node, PassRecord, State, tensor_key
from gradtrace.tracer.summary import COMPACT, FULL, Summaries, Summary, dtype_name
from gradtrace.tracer.training import TrainingParts

Dict = dict[str, Any]
Grads = Sequence[torch.Tensor | None]
Place = tuple[Dict | None, str | None]  # span and module path
_NO_PLACE: Place = (None, None)


def _span(span: Span | None) -> Dict | None:
    return span.to_dict() if span is not None else None


def _put(d: Dict, key: str, value: Any) -> None:
    if value is not None:
        d[key] = value


def _column_sums(rows: list[Grads]) -> list[torch.Tensor | None]:
    """Per slot, the sum over passes of the gradients that are not None."""
    return [_total([g for g in col if g is not None]) for col in zip(*rows, strict=True)]


def _total(grads: list[torch.Tensor]) -> torch.Tensor | None:
    if not grads:
        return None
    total = grads[0]
    for g in grads[1:]:
        total = total + g
    return total


class GraphBuilder:
    """One build: ids, nodes, edges, orders. ``nodes`` is the walk of the shown graph."""

    def __init__(
        self,
        state: State,
        nodes: list[Node],
        children: dict[Node, tuple[tuple[Node | None, int], ...]],
        passes: list[PassRecord],
        summaries: Summaries,
        *,
        output: torch.Tensor | None,
        params: dict[int, str],
        detail: bool,
        pass_nodes: Callable[[PassRecord], list[Node]] | None = None,
    ) -> None:
        self.s = state
        self.walked = nodes
        self.children = children
        self.passes = passes
        self.sm = summaries
        self.output_key: Key | None = tensor_key(output) if output is not None else None
        self.output = output
        self.params = params
        self.detail = detail
        self.nodes: list[Dict] = []
        self.edges: list[Dict] = []
        self.op_ids: dict[Node, str] = {}
        self.tensor_ids: dict[Key, str] = {}
        self.chains: list[tuple[Dict, Summary, Summary, Summary]] = []
        self.consumers: dict[Key, int] = {}
        self.consumer_of: dict[Node, Node] = {}  # the first op that uses a node's output
        self.places: dict[Node, Place] = {}  # span and module, per node
        self.tensor_numbers = itertools.count()  # t0, t1, ... in the order tensors are added
        self.grads = self._pass_grads()
        # Decided here, once, and shipped as ``per_pass``: one pass, and the top-level
        # gradients are that pass's; several, and each pass carries its own.
        self.per_pass = len(passes) > 1
        self.pass_nodes = pass_nodes or (lambda p: [])
        self.leaf_after: dict[Node, torch.Tensor] = {}  # .grad after the last pass that reached it
        for p in passes:
            self.leaf_after.update(p.leaf_grads)
        self.input_edges: dict[tuple[Node, int], Dict] = {}  # (op, input_nr) -> edge, for per_pass
        self.pass_chains: list[tuple[Dict, str, Summary, Summary, Summary]] = []

    # -- gradients seen by the hooks, summed over the passes shown -------------------------
    def _pass_grads(self) -> dict[Node, tuple[Grads, Grads]]:
        if len(self.passes) == 1:  # the usual case: each node fired once
            return {node: (gi, go) for node, gi, go in self.passes[0].fired}
        out: dict[Node, tuple[Grads, Grads]] = {}
        for p in self.passes:
            for node, gi, go in p.fired:
                before = out.get(node)
                if before is None:
                    out[node] = (gi, go)
                else:  # a node that ran in several passes (retain_graph): the sum
                    out[node] = (_column_sums([before[0], gi]), _column_sums([before[1], go]))
        return out

    def _summ(self, t: torch.Tensor | None) -> Summary | None:
        return self.sm.add(t) if t is not None else None

    # -- ids --------------------------------------------------------------------------------
    def _tensor(
        self,
        key: Key,
        role: str,
        requires_grad: bool,
        is_leaf: bool,
        grad_fn: str | None = None,
        name: str | None = None,
        like: torch.Tensor | None = None,
    ) -> Dict:
        """The one factory of tensor nodes: an id, a place in the node list, the keys every
        tensor node has. Shape, dtype and device come from ``like``, else from the value's
        summary (``Summaries.add(value, node)``); the caller adds ``value`` and the rest.
        Positional, one literal: it runs once per tensor of 50,000-node graphs."""
        tid = f"t{next(self.tensor_numbers)}"
        self.tensor_ids[key] = tid
        node: Dict = {
            "id": tid,
            "kind": "tensor",
            "role": role,
            "shape": None,
            "dtype": None,
            "device": None,
            "requires_grad": requires_grad,
            "is_leaf": is_leaf,
        }
        if grad_fn is not None:
            node["grad_fn"] = grad_fn
        if name is not None:
            node["name"] = name
        if like is not None:
            node["shape"], node["dtype"], node["device"] = (
                list(like.shape),
                dtype_name(like.dtype),
                str(like.device),
            )
        self.nodes.append(node)
        return node

    def _edge(self, source: str, target: str, kind: str, slot: int) -> Dict:
        edge: Dict = {"id": f"e{len(self.edges)}", "source": source, "target": target, "kind": kind}
        if slot:
            edge["slot"] = slot
        self.edges.append(edge)
        return edge

    # -- the build --------------------------------------------------------------------------
    def build(self) -> Dict:
        walked = self.walked
        self.op_ids.update(zip(walked, [f"op{i}" for i in range(len(walked))], strict=True))
        self._ops_and_tensors(self._needed_slots())
        self._all_inputs()
        self._variables_and_cuts()
        self._ensure_output()
        passes = [self._pass(p) for p in self.passes]
        training = TrainingParts(self.s, self.tensor_ids, self.sm, self.nodes)
        if self.per_pass:
            training.pass_nodes(passes, [self.pass_nodes(p) for p in self.passes], self.op_ids, self.edges)
        if self.per_pass or self.detail:
            for out, p in zip(passes, self.passes, strict=True):
                training.pass_leaves(out, p)
        updates = training.updates({p.index for p in self.passes})
        self.sm.flush(FULL if self.detail else COMPACT)
        self._chain_steps()
        return {
            "nodes": self.nodes,
            "edges": self.edges,
            "variables": self._variable_ids(),
            "forward_order": self._forward_order(),
            "backward_order": [op_id for p in passes for op_id in p["order"]],
            "backward_passes": passes,
            "per_pass": self.per_pass,
            "pass_count": self.s.passes.count,
            "updates": training.finish_updates(updates),
            "iterations": training.iterations(),
        }

    def _needed_slots(self) -> dict[Node, set[int]]:
        """Which outputs of each node become tensor nodes; counts each one's consumers.

        The ``(child, output_nr)`` pairs of ``next_functions`` serve as the keys
        themselves: equal to the ``(node, slot)`` keys made later, and not rebuilt.
        """
        needed: dict[Node, set[int]] = {}
        consumers, consumer_of, children = self.consumers, self.consumer_of, self.children
        for node in self.walked:
            for key in children[node]:
                child = key[0]
                if child is None:
                    continue
                count = consumers.get(key)
                if count is not None:
                    consumers[key] = count + 1
                    continue
                consumers[key] = 1
                slots = needed.get(child)
                if slots is None:
                    needed[child] = {key[1]}
                    consumer_of.setdefault(child, node)
                else:
                    slots.add(key[1])
        for known in self.s.values:
            if isinstance(known, tuple) and known[0] in self.op_ids:
                needed.setdefault(known[0], set()).add(known[1])
        roots: list[Key | None] = [self.output_key, *(tensor_key(p.root) for p in self.passes)]
        for root in roots:
            if isinstance(root, tuple) and root[0] in self.op_ids:
                needed.setdefault(root[0], set()).add(root[1])
        return needed

    def _ops_and_tensors(self, needed: dict[Node, set[int]]) -> None:
        """Each op node, followed by the tensors it made (a leaf, for an AccumulateGrad).

        The loop runs once per autograd node: lookups are hoisted, and places are only
        looked for when the forward was recorded (``gradtrace.trace`` records none).
        """
        op_ids, append, detail = self.op_ids, self.nodes.append, self.detail
        first = self._first_sequence_nr() if detail else 0
        find_place = self._place if self.s.ops else None
        for node in self.walked:
            cls = type(node)
            name, label = _NAMES.get(cls) or _names(cls)
            op: Dict = {"id": op_ids[node], "kind": "op", "op": name, "label": label}
            if detail and cls is not ACCUMULATE:  # forward_order has the order anyway
                op["sequence_nr"] = node._sequence_nr() - first
            place = find_place(node) if find_place is not None else _NO_PLACE
            if place[0] is not None:
                op["span"] = place[0]
            if place[1] is not None:
                op["module"] = place[1]
            if detail:
                self._op_detail(node, op)
            append(op)
            if cls is ACCUMULATE:
                self._leaf(node, op, place)
            else:
                slots = needed.get(node)
                if slots:
                    self._outputs(node, op, slots, place)

    def _op_detail(self, node: Node, op: Dict) -> None:
        """Small graphs: the saved tensors and arguments. (The gradients the node's hook saw
        are on its edges and the tensors it made.)"""
        saved = self.s.saved.get(node)
        if saved:
            items = saved_items(saved, self.sm)
            if items:
                op["saved"] = items

    def _place(self, node: Node) -> Place:
        """Span and module of the call that made the node; for nodes no Python call returned
        (``TBackward0`` inside ``F.linear``, a parameter's AccumulateGrad), its consumer's."""
        record = self.s.ops.get(node)
        if record is not None:
            place = (_span(record.span), record.module)
        else:
            consumer = self.consumer_of.get(node)
            place = self.places.get(consumer, _NO_PLACE) if consumer is not None else _NO_PLACE
        self.places[node] = place
        return place

    def _outputs(self, node: Node, op: Dict, slots: set[int], place: Place) -> None:
        """The tensors a node made: known from the forward, else from its gradient or metadata."""
        grads = self.grads.get(node)
        go = grads[1] if grads is not None else ()
        if len(slots) > 1 or 0 not in slots:
            op["num_outputs"] = max(len(output_meta(node)), max(slots) + 1)
        span, module = place
        op_id = op["id"]
        values, versions, names, add = self.s.values, self.s.versions, self.s.names, self.sm.add
        detail, consumers, tensor = self.detail, self.consumers, self._tensor
        for slot in slots if len(slots) == 1 else sorted(slots):
            key: Key = (node, slot)
            value = values.get(key)
            if value is not None and value._version != versions[key]:
                value = None  # changed in place by something we did not see: no stale numbers
            is_output = key == self.output_key
            if value is None and is_output:
                value = self.output
            grad = go[slot] if slot < len(go) else None
            name = names.get(key)
            t = tensor(key, "output" if is_output else "intermediate", True, False, op_id, name)
            if slot:
                t["output_nr"] = slot
            t["value"] = add(value, t) if value is not None else None
            if grad is not None:
                # In a compact graph an unnamed intermediate's grad is its only input edge's
                # (the same tensor, so the same summary): left out, but it still describes t.
                if detail or is_output or name is not None or consumers.get(key, 0) != 1:
                    t["grad"] = add(grad, t if value is None else None)
                elif value is None:
                    add(grad, t)
            elif value is None:
                t["shape"], t["dtype"], t["device"] = _describe(node, slot)
            if span is not None:
                t["span"] = span
            if module is not None:
                t["module"] = module
            edge: Dict = {"id": f"e{len(self.edges)}", "source": op_id, "target": t["id"], "kind": "output"}
            if slot:
                edge["slot"] = slot
            self.edges.append(edge)

    def _leaf(self, node: Node, op: Dict, place: Place) -> None:
        s = self.s
        var: torch.Tensor = node.variable
        key = id(var)
        s.held[key] = var
        known = s.leaves.get(key)
        grad = self.leaf_after.get(node, var.grad)  # what print(x.grad) showed after its last pass
        param = self.params.get(key)
        name = param or s.names.get(key)  # model.0.weight, not a loop variable's name
        role = "param" if param is not None or _is_parameter(var) else "leaf"
        t = self._tensor(key, role, True, True, op["id"], name)
        tid = t["id"]
        t["value"] = self.sm.add(known[1] if known is not None else var, t)
        if grad is not None:
            t["grad"] = self.sm.add(grad)
        span = s.spans.get(key)
        if span is not None:
            t["span"] = span.to_dict()
        if place[1] is not None:
            t["module"] = place[1]  # a parameter: the module its AccumulateGrad serves
        op["variable"] = tid
        self.tensor_ids[(node, 0)] = tid  # consumers name a leaf by (its AccumulateGrad, 0)
        self.edges.append({"id": f"e{len(self.edges)}", "source": op["id"], "target": tid, "kind": "output"})

    def _all_inputs(self) -> None:
        """The input edges of every op, with the gradient that flowed back along each."""
        op_ids, children, tensor_ids, edges = self.op_ids, self.children, self.tensor_ids, self.edges
        add, made, grads_of, locals_of = self.sm.add, self.sm.made.get, self.grads.get, self.s.locals.get
        detail, per_pass, input_edges = self.detail, self.per_pass, self.input_edges
        constants = self._constant_input if self.s.ops else None  # only a recorded forward knows them
        for node in self.walked:
            op_id = op_ids[node]
            grads = grads_of(node)
            gis: Grads = grads[0] if grads is not None else ()
            n_gis = len(gis)
            local = locals_of(node) if detail else None
            for i, pair in enumerate(children[node]):  # (child, output_nr): a tensor_ids key
                source = tensor_ids.get(pair)
                if source is None:
                    if pair[0] is None and constants is not None:
                        constants(node, i)
                    continue
                edge: Dict = {"id": f"e{len(edges)}", "source": source, "target": op_id, "kind": "input"}
                if i:
                    edge["slot"] = i
                edges.append(edge)
                if per_pass:
                    input_edges[(node, i)] = edge
                grad = gis[i] if i < n_gis else None
                if grad is not None:
                    summary = made(id(grad))  # usually made already, for the tensor the grad reached
                    edge["grad"] = summary if summary is not None else add(grad)
                    if local is not None and i < len(local):
                        self._chain(edge, grads, local[i], grad)

    def _chain(self, edge: Dict, grads: Any, local: torch.Tensor | None, grad: torch.Tensor) -> None:
        """upstream × local = product, where all three are single numbers."""
        upstream = grads[1][0] if len(grads[1]) == 1 else None
        if local is not None and upstream is not None and _scalar(grad) and _scalar(upstream):
            self.chains.append((edge, self.sm.add(upstream), self.sm.add(local), edge["grad"]))

    def _constant_input(self, node: Node, slot: int) -> None:
        record = self.s.ops.get(node)
        if record is None or not record.constants:
            return
        t = _constant_slots(record.constants, self.children[node]).get(slot)
        if t is not None:
            self._edge(self._constant(t), self.op_ids[node], "input", slot)

    def _constant(self, t: torch.Tensor) -> str:
        """A tensor without grad fed to a graph op; or, if detached from one, a cut."""
        key = id(t)
        known = self.tensor_ids.get(key)
        if known is not None:
            return known
        mark = self.s.marks.get(key)
        value = mark.value if mark is not None else t
        cut_from = self.s.cut_source(t) if self.s.cuts else None
        node = self._tensor(key, "constant", False, True, None, self.s.names.get(key), t)
        node["value"] = self._summ(value)
        _put(node, "span", _span(self.s.spans.get(key) or (mark.span if mark is not None else None)))
        if mark is not None and cut_from is not None:
            _put(node, "module", mark.module)
        tid: str = node["id"]
        if cut_from is not None:
            node["detached"] = True
            source = self.tensor_ids.get(cut_from)
            if source is not None:
                self._edge(source, tid, "cut", 0)
        return tid

    def _variables_and_cuts(self) -> None:
        """Named tensors the graph does not reach still show, as leaves or constants."""
        for t in self.s.variables.values():
            key = tensor_key(t)
            if key in self.tensor_ids or isinstance(key, tuple):
                continue
            if not t.requires_grad:
                self._constant(t)
                continue
            role = "param" if key in self.params or _is_parameter(t) else "leaf"
            node = self._tensor(key, role, True, True, None, self.params.get(key) or self.s.names.get(key), t)
            node["value"] = self._summ(t)
            _put(node, "grad", self._summ(t.grad))
            _put(node, "span", _span(self.s.spans.get(key)))

    def _ensure_output(self) -> None:
        """An output outside any graph (no grad anywhere) is still shown, as the output."""
        t = self.output
        if t is None or tensor_key(t) in self.tensor_ids:
            return
        if isinstance(tensor_key(t), tuple):  # its graph was not walked: show the tensor alone
            self.s.hold(t)
        key = tensor_key(t)
        node = self._tensor(key, "output", t.requires_grad, t.is_leaf, None, self.s.names.get(key), t)
        node["value"] = self._summ(t)
        _put(node, "grad", self._summ(t.grad) if t.is_leaf else None)

    def _variable_ids(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, t in self.s.variables.items():
            tid = self.tensor_ids.get(tensor_key(t))
            if tid is not None:
                out[name] = tid
        return out

    def _first_sequence_nr(self) -> int:
        """torch numbers autograd nodes per thread, from wherever that thread's count stands:
        counted from the graph's first op, the same program gets the same numbers anywhere."""
        return min((n._sequence_nr() for n in self.walked if type(n) is not ACCUMULATE), default=0)

    def _forward_order(self) -> list[str]:
        op_ids = self.op_ids
        ops = [(n._sequence_nr(), op_ids[n]) for n in self.walked if type(n) is not ACCUMULATE]
        return [op_id for _, op_id in sorted(ops)]

    def _pass(self, p: PassRecord) -> Dict:
        out: Dict = {"root": self.tensor_ids.get(tensor_key(p.root), ""), "order": []}
        op_ids = self.op_ids
        out["order"] = [op_ids[n] for n, _, _ in p.fired if n in op_ids]
        _put(out, "span", _span(p.span))
        out["index"] = p.index
        if p.call != "backward":
            out["call"] = p.call
        if p.automatic:
            out["automatic"] = True
        if self.per_pass:
            self._pass_grads_of(p, out)
        return out

    def _pass_grads_of(self, p: PassRecord, out: Dict) -> None:
        """This pass's own gradients, so that animating it does not show the other passes' sums.

        ``edge_grads`` and ``chain``: what flowed along each input edge in this pass;
        ``node_grads``: each tensor's gradient after this pass (a leaf's ``.grad`` as it
        accumulated; an intermediate's, the gradient it received in this pass).
        """
        edge_grads: Dict = {}
        node_grads: Dict = {}
        chain: Dict = {}
        local_of = self.s.locals if self.detail else {}
        for node, gis, gos in p.fired:
            if node not in self.op_ids:
                continue
            local = local_of.get(node)
            upstream = gos[0] if len(gos) == 1 else None
            for i, g in enumerate(gis):
                edge = self.input_edges.get((node, i))
                if g is None or edge is None:
                    continue
                summary = edge_grads[edge["id"]] = self.sm.add(g)
                factor = local[i] if local is not None and i < len(local) else None
                if factor is not None and upstream is not None and _scalar(g) and _scalar(upstream):
                    step = (chain, edge["id"], self.sm.add(upstream), self.sm.add(factor), summary)
                    self.pass_chains.append(step)
            self._pass_node_grads(node, gos, p, node_grads)
        if edge_grads:
            out["edge_grads"] = edge_grads
        if node_grads:
            out["node_grads"] = node_grads
        if self.pass_chains and self.pass_chains[-1][0] is chain:
            out["chain"] = chain  # filled by _chain_steps once the summaries are

    def _pass_node_grads(self, node: Node, gos: Grads, p: PassRecord, node_grads: Dict) -> None:
        """Gradients of the tensors a node made, as this pass left them."""
        if type(node) is ACCUMULATE:
            after = p.leaf_grads.get(node)
            tid = self.tensor_ids.get((node, 0))
            if after is not None and tid is not None:
                node_grads[tid] = self.sm.add(after)
            return
        for slot, g in enumerate(gos):
            tid = self.tensor_ids.get((node, slot))
            if g is not None and tid is not None:
                node_grads[tid] = self.sm.add(g)

    def _chain_steps(self) -> None:
        for edge, up, local, grad in self.chains:
            edge["chain"] = _chain_step(up, local, grad)
        for steps, edge_id, up, local, grad in self.pass_chains:
            steps[edge_id] = _chain_step(up, local, grad)


def _constant_slots(
    constants: list[tuple[int, torch.Tensor]], children: tuple[tuple[Node | None, int], ...]
) -> dict[int, torch.Tensor]:
    """Which empty input slot of the autograd node each constant of the forward call fills.

    The call's argument order is not always the node's: ``F.linear(x, W, b)`` makes
    ``AddmmBackward0(b, x, Wᵀ)``. A constant whose argument position is an empty slot
    takes it; the rest fill the remaining empty slots in order when there are as many.
    """
    empty = [i for i, (child, _) in enumerate(children) if child is None]
    slots = {i: t for i, t in constants if i in empty}
    rest = [t for i, t in constants if i not in slots]
    free = [i for i in empty if i not in slots]
    if rest and len(rest) == len(free):
        slots.update(zip(free, rest, strict=True))
    return slots


def _chain_step(up: Summary, local: Summary, grad: Summary) -> Dict:
    values = [_first(s.get("data")) for s in (up, local, grad)]
    return dict(zip(("upstream", "local", "product"), values, strict=True))


_NAMES: dict[type, tuple[str, str]] = {}


def _names(cls: type) -> tuple[str, str]:
    """Class name and readable label of a node type, looked up once per type, not per node."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = (cls.__name__, op_label(cls.__name__))
    return names


def _describe(node: Node, slot: int) -> tuple[list[int], str, str]:
    """Shape, dtype and device of an output with neither value nor gradient: from the metadata."""
    metas = output_meta(node)
    meta = metas[slot] if slot < len(metas) else None
    return meta if meta is not None else ([], "unknown", "unknown")


def _is_parameter(t: torch.Tensor) -> bool:
    """``isinstance(t, Parameter)`` without its Python-level ``__instancecheck__`` for plain
    tensors (a microsecond on each of 25,000 leaves)."""
    cls = type(t)
    return cls is torch.nn.Parameter or (cls is not torch.Tensor and isinstance(t, torch.nn.Parameter))


def _scalar(t: torch.Tensor | None) -> bool:
    return t is not None and t.numel() == 1


def _first(v: Any) -> Any:
    while isinstance(v, list):
        v = v[0] if v else None
    return v
