"""Real-model benchmark: bare forward+backward vs gradtrace vs torchviz on models people trace.

For ResNet-18 (torchvision's layout and names, 224×224 images), a 12-layer Transformer
encoder with an embedding, a 2-layer LSTM classifier, and the chain / wide-sum / MLP
graphs of ``bench_tracer``, prints the median time of: bare forward + backward;
forward inside ``gradtrace.capture()`` + ``cap.trace`` + JSON (every intermediate
value: the notebook's path); forward + ``gradtrace.trace`` + JSON; forward +
``torchviz.make_dot(...).source`` + backward (which exports no values or gradients).
Then the ratios, and the capture JSON's bytes per autograd node. Variants are timed in
turns after a warm-up (``bench_tracer.median_times``), on one thread, each call from
``.grad is None``.

Targets, on ResNet-18 and the 12-layer Transformer:
  - capture / bare <= 2;
  - capture / torchviz <= 1;
  - JSON bytes per autograd node < 1000 (on every model).

    .venv/bin/python bench/bench_models.py [--repeat 5] [--only resnet18,lstm] [--cpu] [--profile NAME]
                                           [--device cuda]

``--device cuda`` runs the real models on the GPU (the tracer's summaries then run there
too); each timing waits for the GPU's queued kernels.

``--profile NAME`` runs cProfile over capture + trace + JSON of that model and prints
where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

import bench_tracer
from bench_tracer import (
    Build,
    bare,
    chain,
    count_nodes,
    median_times,
    mlp,
    ours,
    ours_capture,
    reset,
    torchviz_dot,
    wide_sum,
)
from gradtrace.export import to_json_bytes
from gradtrace.pipeline import capture
from gradtrace.tracer import on_big_stack

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "tracer"))
from models import Encoder, Recurrent, ResNet18

TARGETED = ("resnet18", "transformer12")
REAL = ("resnet18", "transformer12", "lstm")
DEVICE = torch.device("cpu")


def _model(model: nn.Module, loss: Callable[[nn.Module], torch.Tensor]) -> Build:
    model.to(DEVICE)

    def build() -> torch.Tensor:
        return loss(model)

    build.leaves = list(model.parameters())  # type: ignore[attr-defined]
    return build


def resnet18() -> Build:
    torch.manual_seed(0)
    x, target = torch.randn(1, 3, 224, 224, device=DEVICE), torch.tensor([3], device=DEVICE)
    return _model(ResNet18(), lambda m: F.cross_entropy(m(x), target))


def transformer12() -> Build:
    torch.manual_seed(0)
    tokens, target = torch.randint(0, 1000, (2, 64), device=DEVICE), torch.tensor([0, 1], device=DEVICE)
    model = Encoder(layers=12, d=256, heads=8, vocab=1000, seq=64)
    return _model(model, lambda m: F.cross_entropy(m(tokens), target))


def lstm() -> Build:
    torch.manual_seed(0)
    tokens, target = torch.randint(0, 1000, (8, 32), device=DEVICE), torch.randint(0, 3, (8,), device=DEVICE)
    model = Recurrent(nn.LSTM, vocab=1000, d=128, hidden=256)
    return _model(model, lambda m: F.cross_entropy(m(tokens), target))


MODELS: dict[str, Callable[[], Build]] = {
    "resnet18": resnet18,
    "transformer12": transformer12,
    "lstm": lstm,
    "chain1k": lambda: chain(1000),
    "wide_sum1k": lambda: wide_sum(1000),
    "mlp1k": lambda: mlp(1000),
}


def json_bytes(build: Build) -> int:
    reset(build)
    with capture() as cap:
        out = build()
    return len(to_json_bytes(cap.trace(out).data))


def run(names: list[str], repeat: int) -> None:
    sys.setrecursionlimit(1_000_000)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    print(f"seconds on {DEVICE}, median of {repeat} interleaved rounds after a warm-up; "
          "B/node = capture JSON bytes")
    print(
        f"{'model':<14}{'nodes':>7}{'bare':>8}{'capture':>9}{'trace':>8}{'torchviz':>9}"
        f"{'cap/bare':>9}{'tr/bare':>8}{'viz/bare':>9}{'cap/viz':>8}{'B/node':>8}"
    )
    verdicts = []
    for name in names:
        build = MODELS[name]()
        nodes = count_nodes(build)
        t_bare, t_cap, t_trace, t_viz = median_times([bare, ours_capture, ours, torchviz_dot], build, repeat)
        per_node = json_bytes(build) / nodes
        print(
            f"{name:<14}{nodes:>7}{t_bare:>8.3f}{t_cap:>9.3f}{t_trace:>8.3f}{t_viz:>9.3f}"
            f"{t_cap / t_bare:>9.2f}{t_trace / t_bare:>8.2f}{t_viz / t_bare:>9.2f}{t_cap / t_viz:>8.2f}"
            f"{per_node:>8.0f}",
            flush=True,
        )
        if name in TARGETED:
            verdicts.append(f"{name}: capture/bare <= 2 {_met(t_cap / t_bare <= 2)} ({t_cap / t_bare:.2f}), ")
            verdicts[-1] += f"capture/torchviz <= 1 {_met(t_cap / t_viz <= 1)} ({t_cap / t_viz:.2f})"
        verdicts.append(
            f"{name}: JSON bytes per autograd node < 1000 {_met(per_node < 1000)} ({per_node:.0f})"
        )
    print("\n".join(verdicts))


def profile(name: str) -> None:
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    build = MODELS[name]()
    ours_capture(build)  # warm-up
    reset(build)
    profiler = cProfile.Profile()
    profiler.runcall(ours_capture, build)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cpu", action="store_true", help="time CPU seconds (for shared machines)")
    parser.add_argument("--only", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument(
        "--profile", choices=list(MODELS), help="cProfile capture + trace + JSON of one model"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where the real models run")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    if DEVICE.type != "cpu" and args.only == parser.get_default("only"):
        args.only = ",".join(REAL)  # the chain / wide-sum / MLP builders make CPU tensors
    if args.cpu:
        bench_tracer.CLOCK = time.process_time
    if args.profile:
        on_big_stack(profile, args.profile)
        return
    on_big_stack(run, args.only.split(","), args.repeat)


if __name__ == "__main__":
    main()
