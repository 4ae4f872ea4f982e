"""Functions, classes and the statements around them, against plain CPython with real torch.

Every case of ``language_programs`` runs in the sandbox and with ``exec`` (the oracle:
trusted test text, never the sandbox's way); printed output, every top-level tensor and
its ``.grad`` must be the same. The graph of the torch cases is checked against an
independent ``next_functions`` walk and its leaf gradients against ``torch.autograd.grad``.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
import torch
from language_programs import CASES

from gradtrace.core.errors import GradtraceError
from gradtrace.pipeline import trace_source
from gradtrace.run.execute import execute
from gradtrace.sandbox import check


def plain_run(code: str) -> tuple[str, dict[str, Any]]:
    torch.manual_seed(0)
    random.seed(0)
    names: dict[str, Any] = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<case>", "exec"), names)  # the oracle runs trusted test text
    return out.getvalue(), names


def same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(
        a.detach().float(), b.detach().float(), atol=1e-5, equal_nan=True
    )


@pytest.mark.parametrize(("name", "source", "code"), CASES, ids=[c[0] for c in CASES])
def test_runs_as_plain_python(name: str, source: str, code: str) -> None:
    result = execute(check(code), device="cpu", seed=0)
    printed, names = plain_run(code)
    assert result.printed == printed
    for variable, value in result.variables.items():
        if isinstance(value, torch.Tensor):
            expected = names[variable]
            assert same_tensor(value, expected), variable
            assert (value.grad is None) == (expected.grad is None), variable
            if value.grad is not None:
                assert same_tensor(value.grad, expected.grad), variable


GRAPH_CASES = [
    "notes_my_model", "notes_def_derivative", "tutorial_custom_relu", "dataset_subclass",
    "activation_checkpoint",
]  # fmt: skip


def _walk(out: torch.Tensor) -> list[str]:
    seen: set[Any] = set()
    names: list[str] = []
    stack = [out.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        names.append(type(fn).__name__)
        stack.extend(child for child, _ in fn.next_functions)
    return sorted(names)


def _ops_of_output_pass(graph: dict[str, Any]) -> list[str]:
    """The ops torch ran for the output: its own pass when a loop ran several, else the whole graph."""
    by_id = {n["id"]: n for n in graph["nodes"]}
    ids: list[str] = list(by_id)
    for backward in graph.get("backward_passes", []):
        if graph.get("per_pass") and backward["root"] == graph["output"]:
            ids = backward["nodes"]
    return sorted(by_id[i]["op"] for i in ids if by_id[i]["kind"] == "op")


@pytest.mark.parametrize("name", GRAPH_CASES)
def test_graph_matches_torch(name: str) -> None:
    code = dict((c[0], c[2]) for c in CASES)[name]
    graph = trace_source(code)
    _, names = plain_run(code)
    output_name = next(n["name"] for n in graph["nodes"] if n["id"] == graph["output"])
    out = names[output_name]
    assert _ops_of_output_pass(graph) == _walk(out)
    ops = [n["op"] for n in graph["nodes"] if n["kind"] == "op"]
    if name == "tutorial_custom_relu":  # the program's Function is a node of its own
        assert any("MyReLU" in op for op in ops)


def test_custom_function_gradient_equals_autograd_grad() -> None:
    code = dict((c[0], c[2]) for c in CASES)["tutorial_custom_relu"]
    result = execute(check(code), device="cpu", seed=0)
    torch.manual_seed(0)
    x = torch.randn(6, requires_grad=True)
    w = torch.randn(6, requires_grad=True)
    y = (torch.relu(x * w) * 3).sum()
    gx, gw = torch.autograd.grad(y, (x, w))
    assert same_tensor(result.variables["x"].grad, gx)
    assert same_tensor(result.variables["w"].grad, gw)


def test_program_classes_do_not_outlive_their_run() -> None:
    first = (
        "import torch\nclass Net(torch.nn.Module):\n    pass\ndef f():\n    return 1\n"
        "Net.tag = 3\nimport random\nr = random.random()\n"
    )
    one = execute(check(first), seed=0)
    with pytest.raises(GradtraceError) as info:
        execute(check("n = Net()"), seed=0)
    assert info.value.code == "name_undefined"
    again = execute(check(first), seed=0)
    assert again.variables["r"] == one.variables["r"]
    assert not hasattr(torch.nn.Module, "tag")
    with pytest.raises(GradtraceError) as info:
        one.variables["f"]()  # a program function called after its run
    assert info.value.code == "program_code_after_run"


@pytest.mark.parametrize(
    ("code", "kind", "error_code"),
    [
        ("def f(n):\n    return f(n + 1)\nf(0)", "limit", "recursion_too_deep"),
        ("def a(n):\n    return b(n)\ndef b(n):\n    return a(n)\na(1)", "limit", "recursion_too_deep"),
        ("while True:\n    pass", "limit", None),
        ("i = 0\nwhile True:\n    try:\n        i += 1\n    except Exception:\n        pass", "limit", None),
        ("try:\n    while True:\n        pass\nexcept Exception:\n    pass", "limit", None),
        ("try:\n    while True:\n        pass\nfinally:\n    x = [0] * 10", "limit", None),
        (
            "class A(nn.Module):\n    def _call_impl(self, x):\n        return x",
            "not_allowed",
            "member_not_allowed",
        ),
        ("class A(int):\n    pass", "not_allowed", "base_not_allowed"),
        ("class A(KeyboardInterrupt):\n    pass", "not_allowed", None),
        ("raise SystemExit", "not_allowed", None),
        ("def f():\n    pass\ng = f.__globals__", "not_allowed", "private_name"),
        ("class A:\n    pass\nm = A.__mro__", "not_allowed", "private_name"),
        ("x = torch.ones(1)\nx._version", "not_allowed", "private_name"),
        (
            "class A(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self._parameters = {}\nA()",
            "not_allowed",
            "assign_not_allowed",
        ),
        ("nn.Module.forward = 1", "not_allowed", None),
        ("f = lambda: 0\nsorted([1, 2], key=torch.save)", "not_allowed", None),
        ("g = (lambda f: f(f))\ng(g)", "limit", "recursion_too_deep"),
    ],
)
def test_new_attacks_are_refused(code: str, kind: str, error_code: str | None) -> None:
    with pytest.raises(GradtraceError) as info:
        execute(check(code), seed=0)
    assert info.value.type == kind, info.value
    if error_code is not None:
        assert info.value.code == error_code
    assert info.value.message("ko") and info.value.message("en")


FORMERLY_REFUSED = json.loads((Path(__file__).parent / "formerly_refused.json").read_text("utf-8"))["cases"]


@pytest.mark.parametrize("case", FORMERLY_REFUSED, ids=[c["name"] for c in FORMERLY_REFUSED])
def test_formerly_refused_programs_now_run(case: dict[str, Any]) -> None:
    """These were refused only because the language was missing; none is an attack."""
    execute(check(case["source"]), seed=0)
