"""Tracer benchmark: bare forward+backward vs gradtrace vs torchviz, at 1k, 10k and 50k nodes.

For each graph (a long chain, a wide sum, a deep MLP) and size, prints the median
time of: bare forward + backward; forward + ``gradtrace.trace`` + JSON; the same
inside ``gradtrace.capture()`` (every intermediate value); forward +
``torchviz.make_dot(...).source`` + backward. Then the ratios, the JSON bytes per
autograd node and per JSON node (one entry of ``nodes``), and whether each target
is met. Every variant runs on the same graphs, on one thread, after one untimed
warm-up call; the variants are timed in turns (bare, trace, capture, torchviz, and
again), so that a shared machine's slow spells fall on all of them alike; the
leaves' ``.grad`` is reset before each call (so no variant pays for, or saves on,
accumulating into an existing gradient), and each timing lasts until what the call
handed the tracer's reaper thread is freed (charged to it, not to the next call).
Everything runs on a big-stack thread (torchviz recurses, and deep graphs are freed
recursively).

Targets (``trace`` = forward + ``gradtrace.trace`` + JSON; ``capture`` the same in a
``with gradtrace.capture()`` block, the web app's path):
  - trace / bare <= 3 at 10k and 50k nodes;
  - trace / torchviz < 1 at every size;
  - JSON bytes per JSON node < 400, judged on the capture's JSON (the larger one).

    .venv/bin/python bench/bench_tracer.py [--sizes 1000,10000,50000] [--repeat 5] [--cpu] [--objects]

``--objects`` also times hooks and our JSON's objects alone (see ``objects_only``):
how much of trace's time goes to deciding the JSON, and how much to its size.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import orjson
import torch

from gradtrace.export import to_json_bytes
from gradtrace.pipeline import capture, trace
from gradtrace.tracer import on_big_stack
from gradtrace.tracer.hooks import plain_hooks
from gradtrace.tracer.stack import release_on_big_stack
from gradtrace.tracer.walk import Walk

Build = Callable[[], torch.Tensor]


def chain(n: int) -> Build:
    x = torch.tensor(1.0, requires_grad=True)

    def build() -> torch.Tensor:
        y = x
        for _ in range(n):
            y = y * 1.0001
        return y

    return _with_leaves(build, [x])


def wide_sum(n: int) -> Build:
    k = n // 2
    xs = [torch.tensor(float(i % 7), requires_grad=True) for i in range(k)]

    def build() -> torch.Tensor:
        return torch.stack([x * 0.5 for x in xs]).sum()

    return _with_leaves(build, xs)


def mlp(n: int) -> Build:
    depth = max(1, n // 5)  # Linear (addmm, t, 2 AccumulateGrad) + ReLU ≈ 5 nodes a layer
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for _ in range(depth):
        layers += [torch.nn.Linear(8, 8), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers)
    x = torch.randn(4, 8)

    def build() -> torch.Tensor:
        return model(x).pow(2).mean()

    return _with_leaves(build, list(model.parameters()))


def _with_leaves(build: Build, leaves: list[torch.Tensor]) -> Build:
    build.leaves = leaves  # type: ignore[attr-defined]
    return build


def reset(build: Build) -> None:
    """Every timed call starts from ``.grad is None``, as a fresh program would."""
    for leaf in build.leaves:  # type: ignore[attr-defined]
        leaf.grad = None


def bare(build: Build) -> None:
    build().backward()


def ours(build: Build) -> int:
    return len(to_json_bytes(trace(build()).data))


def ours_capture(build: Build) -> int:
    with capture() as cap:
        out = build()
    return len(to_json_bytes(cap.trace(out).data))


def objects_only(build: Build) -> int:
    """What hooks and our JSON's objects alone cost (``--objects``), to tell where trace's time goes.

    The forward, the walk, a C-level pre-hook on every node that keeps the node and its
    gradient (the order and the values, with no Python run per node), backward; then
    the objects of the JSON ``trace`` made for this graph, rebuilt at C speed by
    ``orjson.loads``, dumped and freed. None of the work of deciding what the JSON says
    (lookups, summaries). When trace costs about this much, what is left to cut is the
    number of objects the JSON has, not the work of filling them in.
    """
    out = build()
    nodes = Walk(1 << 30).add([out.grad_fn])
    ran: dict[object, object] = {}
    with plain_hooks():
        for node in nodes:
            node.register_prehook(partial(dict.__setitem__, ran, node))
    out.backward()
    data = orjson.loads(build.reference)  # type: ignore[attr-defined]
    return len(orjson.dumps(data))


def json_size(build: Build) -> tuple[int, int]:
    """Bytes of the capture's JSON, and how many nodes (tensors and ops) it lists."""
    with capture() as cap:
        out = build()
    data = cap.trace(out).data
    return len(to_json_bytes(data)), len(data["nodes"])


def torchviz_dot(build: Build) -> None:
    import torchviz

    out = build()
    torchviz.make_dot(out).source  # noqa: B018  (the text is the work)
    out.backward()


CLOCK = time.perf_counter


class _Token:
    """Handed to the tracer's reaper thread behind everything earlier calls handed it."""


def settle() -> None:
    """Wait until the reaper thread has freed what the timed call handed it.

    The tracer frees big graphs and its own records on that thread; waiting here
    charges that work to the call that caused it, instead of to whichever call
    runs next. The reaper frees in order, so our token's turn means the rest is done.
    """
    done = threading.Event()
    token = _Token()
    weakref.finalize(token, done.set)
    release_on_big_stack(token)
    del token
    done.wait(timeout=60)


def timed(fn: Callable[[Build], object], build: Build) -> float:
    reset(build)
    gc.collect()
    _synchronize()
    start = CLOCK()
    fn(build)
    settle()
    _synchronize()  # a GPU runs kernels after the call returns: wait for them
    return CLOCK() - start


def _synchronize() -> None:
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()


def median_times(fns: list[Callable[[Build], object]], build: Build, repeat: int) -> list[float]:
    """The median time of each variant, timed in turns (one of each, ``repeat`` times).

    In turns, not one variant's repeats after another's: a shared machine's slow
    spells (seconds long) then fall on every variant alike instead of on one of them.
    """
    for fn in fns:  # warm-up: first-call caches, allocator
        reset(build)
        fn(build)
        settle()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, spent in zip(fns, times, strict=True):
            spent.append(timed(fn, build))
    return [statistics.median(spent) for spent in times]


def count_nodes(build: Build) -> int:
    out = build()
    seen, stack = set(), [out.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        stack.extend(f for f, _ in fn.next_functions)
    return len(seen)


class Row(NamedTuple):
    graph: str
    nodes: int
    bare: float
    trace: float
    capture: float
    torchviz: float
    bytes_per_json_node: float


def run(sizes: list[int], repeat: int, with_objects: bool) -> None:
    sys.setrecursionlimit(1_000_000)  # torchviz's make_dot recurses once per node
    torch.set_num_threads(1)  # tiny tensors: threads only add noise on a shared machine
    warnings.simplefilter("ignore")
    print(
        f"seconds, median of {repeat} after a warm-up; "
        "B/node, B/json = capture JSON bytes per autograd node, per JSON node"
    )
    header = f"{'graph':<9}{'nodes':>7}{'bare':>9}{'trace':>9}{'capture':>9}{'torchviz':>10}"
    print(header + f"{'tr/bare':>9}{'cap/bare':>9}{'tr/viz':>8}{'cap/viz':>8}{'B/node':>8}{'B/json':>8}")
    rows: list[Row] = []
    for name, make in (("chain", chain), ("wide_sum", wide_sum), ("mlp", mlp)):
        for n in sizes:
            build = make(n)
            nodes = count_nodes(build)
            variants = [bare, ours, ours_capture, torchviz_dot]
            if with_objects:
                reset(build)
                build.reference = to_json_bytes(trace(build()).data)  # type: ignore[attr-defined]
                variants.append(objects_only)
            t_bare, t_ours, t_cap, t_viz, *t_objects = median_times(variants, build, repeat)
            size, json_nodes = json_size(build)
            rows.append(Row(name, nodes, t_bare, t_ours, t_cap, t_viz, size / json_nodes))
            print(
                f"{name:<9}{nodes:>7}{t_bare:>9.3f}{t_ours:>9.3f}{t_cap:>9.3f}{t_viz:>10.3f}"
                f"{t_ours / t_bare:>9.2f}{t_cap / t_bare:>9.2f}{t_ours / t_viz:>8.2f}{t_cap / t_viz:>8.2f}"
                f"{size / nodes:>8.0f}{size / json_nodes:>8.0f}",
                flush=True,
            )
            if t_objects:
                objects = t_objects[0]
                print(
                    f"{'':<16}hooks+objects {objects:.3f}: /viz {objects / t_viz:.2f}, "
                    f"/bare {objects / t_bare:.2f}; trace / this {t_ours / objects:.2f}",
                    flush=True,
                )
    report_targets(rows)


def report_targets(rows: list[Row]) -> None:
    """Each target, met or not, for trace and for capture."""
    big = [r for r in rows if r.nodes >= 10_000]
    for label in ("trace", "capture"):
        ratios_bare = [getattr(r, label) / r.bare for r in big]
        ratios_viz = [getattr(r, label) / r.torchviz for r in rows]
        worst_bare = max(ratios_bare, default=float("nan"))
        worst_viz = max(ratios_viz)
        at_scale = f"{_met(worst_bare <= 3)} (worst {worst_bare:.2f})" if big else "not measured"
        print(
            f"{label}: /bare <= 3 at >=10k: {at_scale}; "
            f"faster than torchviz at every size: {_met(worst_viz < 1)} (worst {worst_viz:.2f})"
        )
    worst_bytes = max(r.bytes_per_json_node for r in rows)
    print(f"JSON bytes per JSON node < 400 (capture): {_met(worst_bytes < 400)} (worst {worst_bytes:.0f})")


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cpu", action="store_true", help="time CPU seconds (for shared machines)")
    parser.add_argument("--objects", action="store_true", help="also time hooks + JSON objects alone")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.cpu else time.perf_counter
    sizes = [int(s) for s in args.sizes.split(",")]
    on_big_stack(run, sizes, args.repeat, args.objects)


if __name__ == "__main__":
    main()
