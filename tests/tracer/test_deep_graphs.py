"""50,000-node graphs: no recursion limit on the walk, and no crash when they are freed.

Freeing a graph whose nodes have had Python wrappers recurses in C++ and crashes the
process near 50,000 chained nodes on a default stack; the tracer frees them on a
big-stack thread. A crash would kill pytest, so each scenario runs in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import gradtrace
from gradtrace.core import GradtraceError, Limits

DEPTH = 55_000


PRELUDE = f"""
import gc
import torch
import gradtrace

x = torch.tensor(1.0, requires_grad=True)

def chain():
    y = x
    for _ in range({DEPTH}):
        y = y * 1.00001
    return y

"""


def run_isolated(scenario: str) -> subprocess.CompletedProcess[str]:
    code = PRELUDE + scenario + "\nprint('survived')\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)


@pytest.mark.parametrize(
    "scenario",
    [
        # the user drops the output after tracing, on the main thread
        "y = chain()\ng = gradtrace.trace(y)\nassert len(g.data['nodes']) > 2 * 50_000\ndel y\ngc.collect()",
        # everything still alive when the interpreter exits
        "y = chain()\ng = gradtrace.trace(y)",
        # the graph object goes first, then the output
        "y = chain()\ng = gradtrace.trace(y)\ndel g\ngc.collect()\ndel y\ngc.collect()",
        # a capture: its recording and the output die in either order
        "with gradtrace.capture() as cap:\n    y = chain()\ng = cap.trace(y)\ndel cap, g\ndel y",
        "with gradtrace.capture() as cap:\n    y = chain()\ndel y\ngc.collect()\ndel cap\ngc.collect()",
    ],
)
def test_deep_chains_trace_and_free_without_crashing(scenario: str) -> None:
    done = run_isolated(scenario)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "survived" in done.stdout


def test_the_graph_size_limit_is_a_limit_error() -> None:
    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(200):
        y = y * 2
    with pytest.raises(GradtraceError) as info:
        gradtrace.trace(y, limits=Limits().with_overrides(graph_nodes=100))
    assert info.value.type == "limit" and info.value.code == "graph_too_large"
