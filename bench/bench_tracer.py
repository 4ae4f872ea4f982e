"""Tracer benchmark: bare forward+backward vs gradtrace vs torchviz, at 1k, 10k and 50k nodes.

For each graph (a long chain, a wide sum, a deep MLP) and size, prints the median
time of: bare forward + backward; forward + ``gradtrace.trace`` + JSON; the same
inside ``gradtrace.capture()`` (every intermediate value); forward +
``torchviz.make_dot(...).source`` + backward. Then the ratios and the JSON bytes
per autograd node. Everything runs on a big-stack thread (torchviz recurses, and
deep graphs are freed recursively).

    .venv/bin/python bench/bench_tracer.py [--sizes 1000,10000,50000] [--repeat 3] [--cpu]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import warnings
from collections.abc import Callable

import torch

import gradtrace
from gradtrace.export import to_json_bytes
from gradtrace.tracer import on_big_stack

Build = Callable[[], torch.Tensor]


def chain(n: int) -> Build:
    x = torch.tensor(1.0, requires_grad=True)

    def build() -> torch.Tensor:
        y = x
        for _ in range(n):
            y = y * 1.0001
        return y

    return build


def wide_sum(n: int) -> Build:
    k = n // 2
    xs = [torch.tensor(float(i % 7), requires_grad=True) for i in range(k)]

    def build() -> torch.Tensor:
        return torch.stack([x * 0.5 for x in xs]).sum()

    return build


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

    return build


def bare(build: Build) -> None:
    build().backward()


def ours(build: Build) -> int:
    return len(to_json_bytes(gradtrace.trace(build()).data))


def ours_capture(build: Build) -> int:
    with gradtrace.capture() as cap:
        out = build()
    return len(to_json_bytes(cap.trace(out).data))


def json_size(build: Build) -> tuple[int, int]:
    """Bytes of the capture's JSON, and how many nodes (tensors and ops) it lists."""
    with gradtrace.capture() as cap:
        out = build()
    data = cap.trace(out).data
    return len(to_json_bytes(data)), len(data["nodes"])


def torchviz_dot(build: Build) -> None:
    import torchviz

    out = build()
    torchviz.make_dot(out).source  # noqa: B018  (the text is the work)
    out.backward()


CLOCK = time.perf_counter


def median_time(fn: Callable[[Build], object], build: Build, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = CLOCK()
        fn(build)
        times.append(CLOCK() - start)
    return statistics.median(times)


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


def run(sizes: list[int], repeat: int) -> None:
    sys.setrecursionlimit(1_000_000)  # torchviz's make_dot recurses once per node
    torch.set_num_threads(1)  # tiny tensors: threads only add noise on a shared machine
    warnings.simplefilter("ignore")
    print(f"seconds, median of {repeat}; B/node = JSON bytes (capture) per autograd node, per JSON node")
    header = f"{'graph':<9}{'nodes':>7}{'bare':>9}{'trace':>9}{'capture':>9}{'torchviz':>10}"
    print(header + f"{'tr/bare':>9}{'cap/bare':>9}{'tr/viz':>8}{'cap/viz':>8}{'B/node':>8}{'B/json':>8}")
    for name, make in (("chain", chain), ("wide_sum", wide_sum), ("mlp", mlp)):
        for n in sizes:
            build = make(n)
            nodes = count_nodes(build)
            t_bare = median_time(bare, build, repeat)
            t_ours = median_time(ours, build, repeat)
            t_cap = median_time(ours_capture, build, repeat)
            t_viz = median_time(torchviz_dot, build, repeat)
            size, json_nodes = json_size(build)
            print(
                f"{name:<9}{nodes:>7}{t_bare:>9.3f}{t_ours:>9.3f}{t_cap:>9.3f}{t_viz:>10.3f}"
                f"{t_ours / t_bare:>9.2f}{t_cap / t_bare:>9.2f}{t_ours / t_viz:>8.2f}{t_cap / t_viz:>8.2f}"
                f"{size / nodes:>8.0f}{size / json_nodes:>8.0f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu", action="store_true", help="time CPU seconds (for shared machines)")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.cpu else time.perf_counter
    sizes = [int(s) for s in args.sizes.split(",")]
    on_big_stack(run, sizes, args.repeat)


if __name__ == "__main__":
    main()
