"""The JSON's compact form gives the graph back exactly, in Python and in the browser's code.

Graphs: every curriculum example (training loops with passes, leaves and updates among
them) and the real models of ``tests/tracer/models.py`` (saved tensors, multi-consumer
tensors, checkpoints, detach islands). For each, ``expand`` of the parsed JSON equals the
graph dict (fields that are ``null`` or missing count alike), and ``graph/wire.js`` run by
node on the same JSON gives what the Python ``expand`` gives.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

import gradtrace
from gradtrace.core.curriculum import examples
from gradtrace.export import expand, to_json_bytes
from gradtrace.pipeline import trace_source

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "tracer"))
from models import CASES  # noqa: E402

WIRE_JS = ROOT / "frontend" / "src" / "graph" / "wire.js"
CPU_EXAMPLES = [e for e in examples() if e.get("device", "cpu") == "cpu" and not e.get("expect_error")]


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _round_trip(graph: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    wire = to_json_bytes(graph)
    full = orjson.loads(to_json_bytes(graph, compact=False))
    assert _without_nulls(expand(orjson.loads(wire))) == _without_nulls(full)
    return wire, full


@pytest.mark.parametrize("example", CPU_EXAMPLES, ids=[e["id"] for e in CPU_EXAMPLES])
def test_curriculum_graphs_come_back_whole(example: dict[str, Any]) -> None:
    _round_trip(trace_source(example["source"], output=example.get("output"), seed=0))


def _model_graph(case: Any) -> dict[str, Any]:
    model, inputs = case.make()
    leaves = dict(model.named_parameters())
    leaves.update({f"in{i}": x for i, x in enumerate(inputs) if x.requires_grad})
    with gradtrace.capture() as cap:
        loss = case.loss(model, inputs)
    data: dict[str, Any] = cap.trace(loss, params=leaves).data
    return data


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_real_model_graphs_come_back_whole_and_smaller(case: Any) -> None:
    wire, full = _round_trip(_model_graph(case))
    assert len(wire) <= len(orjson.dumps(full))


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_browser_expands_as_python_does() -> None:
    graphs = [_model_graph(c) for c in CASES[:4]]
    graphs += [trace_source(e["source"], output=e.get("output"), seed=0) for e in CPU_EXAMPLES[-6:]]
    wires = [orjson.loads(to_json_bytes(g)) for g in graphs]
    script = (
        f"import {{ expandGraph }} from {json.dumps(WIRE_JS.as_uri())};\n"
        "let text = ''; process.stdin.on('data', (d) => { text += d; });\n"
        "process.stdin.on('end', () => {\n"
        "  process.stdout.write(JSON.stringify(JSON.parse(text).map(expandGraph)));\n"
        "});\n"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=json.dumps(wires).encode(), capture_output=True, check=True, timeout=120,
    )
    in_browser = json.loads(done.stdout)
    assert [_without_nulls(g) for g in in_browser] == [_without_nulls(expand(w)) for w in wires]
