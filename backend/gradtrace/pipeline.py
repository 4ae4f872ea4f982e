"""The public Python API and the source → graph glue.

``trace(loss, params=dict(model.named_parameters()))`` works on any PyTorch
program; ``with capture() as cap: ...`` then ``cap.trace(loss)`` also keeps
every intermediate forward value; ``trace_source(text)`` runs sandboxed text
(what the web API serves). All three give the graph of ``gradtrace.schema``,
wrapped in ``Graph`` for the Python API.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import networkx as nx
import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.core.limits import DEFAULT_LIMITS, Limits
from gradtrace.export import (
    to_json_bytes,
    to_networkx,
    to_node_link,
    to_notebook_html,
    to_standalone_html,
)
from gradtrace.export.formats import format_for_path, render
from gradtrace.tracer import BackwardMode, Capture, on_big_stack
from gradtrace.tracer.notes import note

__all__ = ["Graph", "Recording", "capture", "trace", "trace_source"]


class Graph:
    """A traced graph: ``.data`` is the dict of ``gradtrace.schema.GraphModel``."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def render(self, fmt: str) -> bytes:
        """The graph in a format of ``gradtrace.export.formats.FORMATS``: the bytes the web API
        and the ``gradtrace`` command give for it."""
        return render(self.data, fmt)

    def save(self, path: str | os.PathLike[str], fmt: str | None = None) -> str:
        """Write the graph to ``path`` in ``fmt``, or in the format its suffix names (``.dot``,
        ``.graphml``, ``.node-link.json``, else JSON), as the command's ``-o`` does; returns the format."""
        name = fmt if fmt is not None else format_for_path(os.fspath(path)).name
        data = self.render(name)  # an unknown format raises before the file is opened
        with open(path, "wb") as file:
            file.write(data)
        return name

    def to_json(self, *, indent: bool = False) -> str:
        if indent:  # for reading, so not one of the table's formats
            return to_json_bytes(self.data, indent=True).decode()
        return self.render("json").decode()

    def to_json_bytes(self) -> bytes:
        return self.render("json")

    def to_dot(self) -> str:
        return self.render("dot").decode()

    def to_networkx(self) -> nx.DiGraph:
        return to_networkx(self.data)

    def to_graphml(self) -> str:
        return self.render("graphml").decode()

    def to_node_link(self) -> dict[str, Any]:
        """The node-link dict itself; its bytes are ``render("node-link")``."""
        return to_node_link(self.data)

    def _repr_html_(self) -> str:
        """Jupyter shows the web app's interactive view, self-contained in an iframe."""
        return to_notebook_html(self.data)

    def to_html(self, path: str | os.PathLike[str] | None = None, *, lang: str = "en") -> str:
        """The interactive view as one standalone HTML file that needs no server or network.

        Written to ``path`` when given (share it, open it offline); returned either way.
        """
        page = to_standalone_html(self.data, lang=lang)
        if path is not None:
            with open(path, "w", encoding="utf-8") as file:
                file.write(page)
        return page

    def __repr__(self) -> str:
        kinds = [n["kind"] for n in self.data["nodes"]]
        return (
            f"<gradtrace.Graph {kinds.count('op')} ops, {kinds.count('tensor')} tensors, "
            f"{len(self.data['edges'])} edges, output={self.data.get('output')}>"
        )


class Recording(Capture):
    """``with gradtrace.capture() as cap:`` records the forward; ``cap.trace(loss)`` graphs it."""

    def trace(
        self,
        output: torch.Tensor,
        params: Mapping[str, torch.Tensor] | None = None,
        *,
        names: Mapping[str, object] | None = None,
        backward: BackwardMode = "auto",
    ) -> Graph:
        before = _grads_before(params)
        return Graph(_note_hidden(self.graph(output, names=names, params=params, backward=backward), before))


def capture(*, limits: Limits = DEFAULT_LIMITS) -> Recording:
    """Record every op and module call of a block, for ``cap.trace(output)`` afterwards."""
    return Recording(limits=limits)


def trace(
    output: torch.Tensor,
    params: Mapping[str, torch.Tensor] | None = None,
    *,
    names: Mapping[str, object] | None = None,
    backward: BackwardMode = "auto",
    limits: Limits = DEFAULT_LIMITS,
) -> Graph:
    """The graph of ``output``, running backward with hooks if it has not run yet.

    Without a capture, forward values are known for the leaves and the output only
    (plus saved tensors); gradients are known everywhere. ``backward="ones"``
    back-propagates ones from a non-scalar output, ``"none"`` skips backward.
    """
    before = _grads_before(params)
    graph = Capture(limits=limits).graph(output, names=names, params=params, backward=backward)
    return Graph(_note_hidden(graph, before))


GradState = dict[str, tuple[torch.Tensor, object, int]]


def _grads_before(params: Mapping[str, torch.Tensor] | None) -> GradState:
    """Each parameter's ``.grad`` (object and version) before backward, to see which it reached."""
    return {
        name: (p, p.grad, p.grad._version if p.grad is not None else -1)
        for name, p in (params or {}).items()
        if isinstance(p, torch.Tensor)
    }


def _note_hidden(graph: dict[str, Any], before: GradState) -> dict[str, Any]:
    """Name the parameters that backward reached through nodes the graph does not have.

    A reentrant checkpoint runs its block again inside backward, in a graph of its own
    that ``next_functions`` never leads to: its parameters get gradients, yet no path from
    the output reaches them. Parameters the output never used get none and need no note.
    """
    shown = {n.get("name") for n in graph["nodes"] if n["kind"] == "tensor" and n.get("is_leaf")}
    drawn = {id(p) for name, (p, _grad, _version) in before.items() if name in shown}
    hidden = [
        name
        for name, (p, grad, version) in before.items()
        if id(p) not in drawn and p.grad is not None and (p.grad is not grad or p.grad._version != version)
    ]
    if hidden:
        names = ", ".join(hidden)
        graph.setdefault("notes", []).append(note("hidden_parameters", count=len(hidden), names=names))
    return graph


def trace_source(
    source: str,
    *,
    device: str = "cpu",
    output: str | None = None,
    backward: bool | str = True,
    seed: int = 0,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Check, run and trace sandboxed text: the graph dict with ``printed`` (the API's body).

    Runs on a thread with a large stack, where the program's deep graphs are also freed.
    """
    mode: BackwardMode = "auto" if backward is True else "none" if backward is False else backward  # type: ignore[assignment]
    result: dict[str, Any] = on_big_stack(_trace_source, source, device, output, mode, seed, limits)
    return result


def _trace_source(
    source: str, device: str, output: str | None, backward: BackwardMode, seed: int, limits: Limits
) -> dict[str, Any]:
    # Imported here: the run stage's facades take seconds to import, the Python API needs none of it.
    from gradtrace.run import current_span, execute
    from gradtrace.sandbox import check

    program = check(source, limits)
    cap = Capture(current_span.get, limits=limits)
    with cap:
        result = execute(program, device=device, seed=seed, limits=limits, output=output, observer=cap)
    out = result.variables.get(result.output_name) if result.output_name else None
    try:
        with result.resumed():  # a program's own backward (autograd.Function) runs in its run
            graph = cap.graph(
                out if isinstance(out, torch.Tensor) else None,
                names=result.variables,
                spans=result.spans,
                backward=backward,
                device=result.device,
            )
    except GradtraceError:
        raise
    except (RuntimeError, ValueError, TypeError) as exc:  # e.g. backward of an odd output
        raise GradtraceError("runtime", "internal", detail=str(exc)) from None
    graph["printed"] = result.printed
    if result.notes:
        graph.setdefault("notes", []).extend(note(code) for code in result.notes)
    return graph
