"""Which devices exist here, and the check applied to every ``device=`` a program names.

CUDA is real when present; without it, naming ``cuda`` is a clear
``device_unavailable`` error instead of torch's assertion deep inside.
"""

from __future__ import annotations

import torch

from gradtrace.core.errors import GradtraceError

ALLOWED_TYPES = ("cpu", "cuda")


def available_devices() -> list[str]:
    """``["cpu"]`` plus ``"cuda"``, ``"cuda:0"``... for each visible GPU."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        devices += ["cuda"] + [f"cuda:{i}" for i in range(count)]
    return devices


def resolve_device(name: str | torch.device | None) -> str:
    """The canonical name of a device the program may use, or ``device_unavailable``."""
    return str(check_device(name if name is not None else "cpu"))


def check_device(value: object) -> torch.device:
    """Validate a ``device=`` argument (a string or ``torch.device``) before torch sees it."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"cuda:{value}"
    if not isinstance(value, str | torch.device):
        raise GradtraceError("not_allowed", "device_invalid", {"device": type(value).__name__})
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError, TypeError):
        raise GradtraceError("not_allowed", "device_invalid", {"device": str(value)[:40]}) from None
    if device.type not in ALLOWED_TYPES:
        raise GradtraceError("not_allowed", "device_invalid", {"device": str(device)})
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise GradtraceError("runtime", "device_unavailable", {"device": str(device)})
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise GradtraceError("runtime", "device_unavailable", {"device": str(device)})
    return device


def rng_devices(device: str) -> list[int]:
    """CUDA devices whose RNG state ``fork_rng`` must save (none on a CPU run)."""
    if not device.startswith("cuda") or not torch.cuda.is_available():
        return []
    return list(range(torch.cuda.device_count()))


def seed_rngs(seed: int) -> None:
    """``torch.manual_seed`` for the devices a program can reach (cpu, cuda).

    ``torch.manual_seed`` also queues a seeding for each other backend torch knows
    (xpu, mtia), and while one is uninitialised it formats a stack trace per call:
    about half a millisecond of every small program, for backends no program uses.
    """
    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
