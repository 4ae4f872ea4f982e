"""Real models as torchvision, torch.nn and tutorials write them, at any size.

``ResNet18`` keeps torchvision's module names (``conv1``, ``layer1.0.bn2``,
``layer2.0.downsample.0``, ``fc``) so that a graph of it reads like one of the real
thing; torchvision's wheel is not needed. ``CASES`` are small instances of every kind
of model the tracer must get right (convolutions with BatchNorm and Dropout, a
Transformer encoder with an embedding, recurrent classifiers, a custom
``autograd.Function``, checkpoints both ways, in-place ops, multi-output ops, a detach
island, a gradient penalty (double backward), weight tying), each a builder that makes
the same model and inputs from a seed, and a loss. The tracer tests, the offline-view
browser test and ``bench/bench_models.py`` share them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

# -- ResNet-18, with torchvision's names -------------------------------------------------


class BasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


def _stage(inplanes: int, planes: int, stride: int, blocks: int) -> nn.Sequential:
    rest = [BasicBlock(planes, planes) for _ in range(blocks - 1)]
    return nn.Sequential(BasicBlock(inplanes, planes, stride), *rest)


class ResNet18(nn.Module):
    """torchvision's ``resnet18`` layout; ``width`` 64 is the real one, ``layers`` (3, 4, 6, 3)
    makes it a ResNet-34."""

    def __init__(
        self, width: int = 64, num_classes: int = 1000, layers: tuple[int, ...] = (2, 2, 2, 2)
    ) -> None:
        super().__init__()
        w = width
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = _stage(w, w, 1, layers[0])
        self.layer2 = _stage(w, 2 * w, 2, layers[1])
        self.layer3 = _stage(2 * w, 4 * w, 2, layers[2])
        self.layer4 = _stage(4 * w, 8 * w, 2, layers[3])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# -- the other models --------------------------------------------------------------------


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.dropout = nn.Dropout(0.25)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(self.dropout(torch.flatten(x, 1)))


class Encoder(nn.Module):
    """Token embedding, learned positions, ``nn.TransformerEncoder``, a classifier head."""

    def __init__(self, layers: int = 2, d: int = 16, heads: int = 2, vocab: int = 50, seq: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(seq, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens) + self.pos[: tokens.shape[1]]
        return self.head(self.encoder(x).mean(1))


class Recurrent(nn.Module):
    def __init__(
        self, cell: type[nn.LSTM] | type[nn.GRU], vocab: int = 30, d: int = 8, hidden: int = 12
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.rnn = cell(d, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, 3)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _state = self.rnn(self.embed(tokens))
        return self.fc(out[:, -1])


class ClampedExp(torch.autograd.Function):
    """exp with its gradient clipped to [-1, 1]: a backward that is not the forward's derivative."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return (grad * y).clamp(-1, 1)


class CustomFunction(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(ClampedExp.apply(self.fc1(x)))


class Checkpointed(nn.Module):
    def __init__(self, reentrant: bool) -> None:
        super().__init__()
        self.reentrant = reentrant
        self.fc_in = nn.Linear(6, 8)
        self.block = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8))
        self.fc_out = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc_in(x))
        h = checkpoint(self.block, h, use_reentrant=self.reentrant)
        return self.fc_out(h)


class InPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x) * 1.0  # a non-leaf of our own to modify
        h.mul_(2).add_(1)
        h[:, 0] = 0.5  # an in-place write through a view
        h = F.relu(h, inplace=True)
        return self.fc2(h)


class MultiOutput(nn.Module):
    """Ops of several outputs: chunk, max with indices, unbind."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.fc(x).chunk(2, dim=1)
        values, _indices = torch.max(a * b, dim=1)
        first, *rest = torch.stack([a.sum(1), b.sum(1)], 1).unbind(1)
        return values + first - rest[0]


class TiedLM(nn.Module):
    """A language model whose output layer is its embedding (weight tying)."""

    def __init__(self, vocab: int = 20, d: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.hidden = nn.Linear(d, d)
        self.out = nn.Linear(d, vocab, bias=False)
        self.out.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(self.embed(tokens))))


class DetachIsland(nn.Module):
    """Part of the forward runs on a detached copy: a constant to the loss, an island of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.fc1(x))
        scale = (h.detach() * 2).sigmoid().mean(0)  # no gradient flows back through this
        return self.fc2(h * scale)


def _critic() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1))


def _gradient_penalty(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """A WGAN-GP-style loss: the norm of d(output)/d(input), itself differentiated (double backward)."""
    (x,) = inputs  # a leaf that requires grad
    out = model(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return out.pow(2).mean() + (grad.norm(dim=1) - 1).pow(2).mean()


# -- the cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A model and its inputs made from a seed (twice: the same numbers), and its loss."""

    name: str
    build: Callable[[], tuple[nn.Module, tuple[torch.Tensor, ...]]]
    loss: Callable[[nn.Module, tuple[torch.Tensor, ...]], torch.Tensor]

    def make(self, seed: int = 0) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
        torch.manual_seed(seed)
        return self.build()


def _classify(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    torch.manual_seed(1)  # dropout draws the same mask in every run
    x, target = inputs
    return F.cross_entropy(model(x), target)


def _regress(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return model(inputs[0]).pow(2).mean()


def _language(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    tokens, target = inputs
    logits = model(tokens)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def _images(channels: int, size: int, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(2, channels, size, size), torch.randint(0, classes, (2,))


def _words(vocab: int, seq: int) -> torch.Tensor:
    return torch.randint(0, vocab, (2, seq))


def _tokens(vocab: int, seq: int, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randint(0, vocab, (2, seq)), torch.randint(0, classes, (2,))


CASES = [
    Case("resnet", lambda: (ResNet18(4, 5, layers=(1, 1, 1, 1)), _images(3, 16, 5)), _classify),
    Case("small_cnn", lambda: (SmallCNN(), _images(1, 16, 10)), _classify),
    Case("transformer", lambda: (Encoder(), _tokens(50, 8, 2)), _classify),
    Case("lstm", lambda: (Recurrent(nn.LSTM), _tokens(30, 5, 3)), _classify),
    Case("gru", lambda: (Recurrent(nn.GRU), _tokens(30, 5, 3)), _classify),
    Case("custom_function", lambda: (CustomFunction(), (torch.randn(3, 6),)), _regress),
    Case("checkpoint", lambda: (Checkpointed(reentrant=False), (torch.randn(3, 6),)), _regress),
    Case("checkpoint_reentrant", lambda: (Checkpointed(reentrant=True), (torch.randn(3, 6),)), _regress),
    Case("in_place", lambda: (InPlace(), (torch.randn(3, 6),)), _regress),
    Case("multi_output", lambda: (MultiOutput(), (torch.randn(3, 6),)), _regress),
    Case("detach_island", lambda: (DetachIsland(), (torch.randn(3, 6),)), _regress),
    Case("gradient_penalty", lambda: (_critic(), (torch.randn(3, 6).requires_grad_(),)), _gradient_penalty),
    Case("weight_tying", lambda: (TiedLM(), (_words(20, 4), _words(20, 4))), _language),
]
