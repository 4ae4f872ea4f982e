"""Sandboxed text → graph: every curriculum example, and the numbers the course notes draw."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import gradtrace
from gradtrace.core import GradtraceError
from gradtrace.core.curriculum import examples
from gradtrace.schema import GraphModel

RUNNABLE = [e for e in examples() if not e.get("expect_error") and e.get("device", "cpu") == "cpu"]


def tensor(graph: dict[str, Any], name: str) -> dict[str, Any]:
    node_id = graph["variables"][name]
    node: dict[str, Any] = next(n for n in graph["nodes"] if n["id"] == node_id)
    return node


def number(summary: dict[str, Any]) -> Any:
    return summary["data"]


@pytest.mark.parametrize("example", RUNNABLE, ids=[e["id"] for e in RUNNABLE])
def test_every_example_gives_a_valid_graph(example: dict[str, Any]) -> None:
    graph = gradtrace.trace_source(example["source"], output=example.get("output"))
    GraphModel.model_validate(graph)
    for name, want in example["expect"].items():  # plain variables the graph shows: their values
        if "." in name or name not in graph["variables"] or not isinstance(want, float | int | list):
            continue
        node = tensor(graph, name)
        if node["value"] and "data" in node["value"]:
            torch.testing.assert_close(
                torch.tensor(node["value"]["data"], dtype=torch.float64),
                torch.tensor(want, dtype=torch.float64),
                rtol=1e-5,
                atol=1e-6,
            )


# (example, {leaf: gradient drawn in the notes}, {intermediate: value})
NOTES = [
    ("autograd-poly", {"x": [7.0]}, {"y": [11.0]}),
    ("autograd-chain-rule", {"x": 12.0}, {"g": 4.0, "y": 13.0}),
    ("autograd-cubic", {"x": [15.0]}, {"y": [9.0]}),
    ("autograd-scalar-w", {"w": 8.0}, {"z": 13.0}),
    ("autograd-two-params", {"w": 72.0, "x": 24.0}, {"l": 180.0}),
    ("autograd-retain-grad", {"x": 36.0}, {"h": 6.0}),
]


@pytest.mark.parametrize(("example_id", "grads", "values"), NOTES, ids=[n[0] for n in NOTES])
def test_seed_examples_have_the_gradients_the_notes_draw(
    example_id: str, grads: dict[str, Any], values: dict[str, Any]
) -> None:
    example = next(e for e in examples() if e["id"] == example_id)
    graph = gradtrace.trace_source(example["source"])
    for name, want in grads.items():
        node = tensor(graph, name)
        assert node["is_leaf"] and node["role"] == "leaf"
        assert number(node["grad"]) == pytest.approx(want)
    for name, want in values.items():
        assert number(tensor(graph, name)["value"]) == pytest.approx(want)
    assert graph["backward_passes"] and graph["backward_order"][-1] in {
        n["id"] for n in graph["nodes"] if n.get("op") == "AccumulateGrad"
    }


def test_chain_rule_example_reads_three_times_four() -> None:
    example = next(e for e in examples() if e["id"] == "autograd-chain-rule")
    graph = gradtrace.trace_source(example["source"])
    x = tensor(graph, "x")
    (edge,) = [e for e in graph["edges"] if e["source"] == x["id"]]
    assert edge["chain"] == {"upstream": 3.0, "local": 4.0, "product": 12.0}
    pow_op = next(n for n in graph["nodes"] if n["id"] == edge["target"])
    assert pow_op["op"] == "PowBackward0" and pow_op["span"]["line"] == 4


def test_the_graph_ties_ops_to_source_spans_and_keeps_printed_text() -> None:
    graph = gradtrace.trace_source("x = torch.tensor(2.0, requires_grad=True)\ny = x * 3\nprint(y)\n")
    mul = next(n for n in graph["nodes"] if n.get("op") == "MulBackward0")
    assert mul["span"] == {"line": 2, "col": 5, "end_line": 2, "end_col": 10}
    assert graph["printed"].startswith("tensor(6.")
    assert number(tensor(graph, "x")["grad"]) == 3.0  # backward ran from the scalar output


def test_backward_false_and_non_scalar_outputs_are_successes() -> None:
    source = "x = torch.tensor([1.0, 2.0], requires_grad=True)\ny = x * 2\n"
    assert "grad" not in tensor(gradtrace.trace_source(source, backward=False), "x")
    graph = gradtrace.trace_source(source)
    assert [n["code"] for n in graph["notes"]] == ["non_scalar_output"]
    assert number(tensor(gradtrace.trace_source(source, backward="ones"), "x")["grad"]) == [2.0, 2.0]


def test_errors_stay_gradtrace_errors() -> None:
    with pytest.raises(GradtraceError):
        gradtrace.trace_source("import os\n")
    with pytest.raises(GradtraceError):
        gradtrace.trace_source("x = torch.ones(2) @ torch.ones(3)\n")


def test_the_same_program_gives_the_same_json_on_a_used_thread() -> None:
    """A worker runs every program on one thread, where torch's node numbering goes on
    from the last program: the graph must not show it."""
    from gradtrace.export import to_json_bytes
    from gradtrace.tracer import on_big_stack

    source = "x = torch.tensor(2.0, requires_grad=True)\ng = x**2\ny = 3*g + 1\ny.backward()\n"

    def twice() -> list[bytes]:
        torch.ones(3, requires_grad=True).mul(2).sum()  # advance this thread's numbering
        return [to_json_bytes(gradtrace.trace_source(source)) for _ in range(2)]

    first, second = on_big_stack(twice)
    assert first == second
    assert first == to_json_bytes(gradtrace.trace_source(source))  # and as on a fresh thread
    numbers = sorted(n["sequence_nr"] for n in gradtrace.trace_source(source)["nodes"]
                     if n.get("sequence_nr") is not None)
    assert numbers[0] == 0 and numbers == sorted(set(numbers))
