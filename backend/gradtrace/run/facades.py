"""The curated ``torch``, ``nn``, ``F``, ``optim``, ``np`` and ``math`` a program sees.

Each facade maps a name to a ``Func`` (with its size guard) or to a plain
value (a dtype, a constant). Anything not listed here does not exist for the
program, whatever the real module has.
"""

from __future__ import annotations

import math as _math
from typing import Any

import numpy
import torch
from torch import nn as _nn
from torch import optim as _optim
from torch.nn import functional as _F

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget, guards
from gradtrace.run.devices import check_device, seed_rngs
from gradtrace.run.modules import construct, layer_classes
from gradtrace.run.preflight import preflighted
from gradtrace.run.surface import SUBMODULES, submodule_functions, torch_functions
from gradtrace.run.surface import refusal as surface_refusal
from gradtrace.run.values import AnyKeywords, Facade, Func, Guard, words

# Guards by torch function name; names not listed produce at most their inputs' size.
_TORCH_GUARDS: dict[str, Guard] = {
    "tensor": guards.data, "as_tensor": guards.data,
    "zeros": guards.sized, "ones": guards.sized, "rand": guards.sized, "randn": guards.sized,
    "full": guards.sized_first, "randint": guards.sized_randint, "randperm": guards.sized_count,
    "eye": guards.eye, "arange": guards.arange, "linspace": guards.linspace,
    "matmul": guards.matmul, "mm": guards.matmul, "bmm": guards.matmul, "mv": guards.matmul,
    "dot": guards.matmul, "outer": guards.outer, "cat": guards.joined, "concat": guards.joined,
    "stack": guards.joined,
    **{name: guards.broadcasting for name in (
        "add", "sub", "mul", "div", "pow", "maximum", "minimum", "where", "dist", "eq", "ne", "gt",
        "ge", "lt", "le", "allclose", "isclose", "equal", "atan2", "fmod", "remainder",
    )},
}  # fmt: skip

_TORCH_PLAIN = words(
    "from_numpy zeros_like ones_like rand_like randn_like full_like exp log log2 log10 sin cos tan "
    "tanh sigmoid relu sqrt rsqrt abs neg square sign floor ceil round sum mean std var max min "
    "argmax argmin prod cumsum clamp clip softmax log_softmax norm chunk split reshape transpose t "
    "permute squeeze unsqueeze flatten unbind numel is_tensor is_floating_point detach clone topk "
    "sort argsort all any count_nonzero"
)

_DTYPES = words(
    "float32 float float64 double float16 half bfloat16 int8 int16 int32 int int64 long uint8 bool"
)


def _torch_funcs() -> dict[str, object]:
    """Every public torch op (``surface.py``), each with its hand guard or its pre-flight."""
    curated = {*_TORCH_GUARDS, *_TORCH_PLAIN}
    members: dict[str, object] = {}
    for name, impl in torch_functions().items():
        keywords = None if name in curated else AnyKeywords()
        guard = _TORCH_GUARDS.get(name) or preflighted(name, impl)
        members[name] = Func(f"torch.{name}", impl, guard, keywords)
    members.update({n: getattr(torch, n) for n in _DTYPES})
    members.update({"pi": _math.pi, "e": _math.e, "inf": _math.inf, "nan": _math.nan})
    members["manual_seed"] = Func("torch.manual_seed", _manual_seed)
    members["no_grad"] = Func("torch.no_grad", torch.no_grad, kwargs=frozenset())
    members["enable_grad"] = Func("torch.enable_grad", torch.enable_grad, kwargs=frozenset())
    members["inference_mode"] = Func("torch.inference_mode", torch.inference_mode, kwargs=frozenset())
    # grad mode is restored when the run ends, whatever the program set
    members["set_grad_enabled"] = Func(
        "torch.set_grad_enabled", torch.set_grad_enabled, kwargs=frozenset({"mode"})
    )
    members["device"] = Func("torch.device", _device, kwargs=frozenset())
    members["set_printoptions"] = Func(
        "torch.set_printoptions",
        _set_printoptions,
        kwargs=frozenset({"precision", "threshold", "edgeitems", "linewidth", "profile", "sci_mode"}),
    )
    return members


_LEGACY = {
    "Tensor": torch.float32, "FloatTensor": torch.float32, "DoubleTensor": torch.float64,
    "HalfTensor": torch.float16, "LongTensor": torch.int64, "IntTensor": torch.int32,
    "ShortTensor": torch.int16, "ByteTensor": torch.uint8, "CharTensor": torch.int8, "BoolTensor": torch.bool,
}  # fmt: skip


def _legacy(dtype: torch.dtype) -> Any:
    """``torch.FloatTensor([1, 2])`` (data) or ``torch.Tensor(2, 3)`` (sizes, zero-filled here)."""

    def make(*args: Any) -> torch.Tensor:
        if len(args) == 1 and not isinstance(args[0], int | torch.Size):
            data = args[0]
            if isinstance(data, torch.Tensor):
                return data.to(dtype)
            guards.data((data,), {})
            return torch.tensor(data, dtype=dtype)
        guards.sized(args, {})
        return torch.zeros(*args, dtype=dtype)

    return make


def _legacy_constructors() -> dict[str, object]:
    return {
        name: Func(f"torch.{name}", _legacy(dtype), kwargs=frozenset(), cls=getattr(torch, name))
        for name, dtype in _LEGACY.items()
    }


def _base_only(name: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> None:
        what = f"{name}(...) (subclass it instead)"
        raise GradtraceError("not_allowed", "call_not_allowed", {"what": what})

    return refuse


def _set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """``torch.set_printoptions`` for this run only (restored when it ends); printing is charged
    by the options in force, so ``threshold=inf`` cannot print more than the budget allows."""
    for name, value, top in (("precision", precision, 30), ("edgeitems", edgeitems, 100),
                             ("linewidth", linewidth, 10_000)):  # fmt: skip
        wrong = isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top
        if value is not None and wrong:
            raise ValueError(f"{name} must be an integer from 0 to {top}")
    if threshold is not None and not isinstance(threshold, int | float):
        raise TypeError("threshold must be a number")
    torch.set_printoptions(precision, threshold, edgeitems, linewidth, profile, sci_mode)


def _manual_seed(seed: int) -> None:
    """Seeds the run's forked RNG; returns None (a live ``Generator`` is not handed out)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise TypeError("manual_seed expects an integer between 0 and 2**63 - 1")
    seed_rngs(seed)


def _device(kind: Any, index: int | None = None) -> torch.device:
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, int) or not isinstance(kind, str):
            raise TypeError("torch.device(type, index) expects a string and an integer")
        kind = f"{kind}:{index}"
    if isinstance(kind, str) and kind.split(":")[0] == "cuda":
        device = torch.device(kind)  # naming cuda is fine without a GPU; using it is not
        if device.type == "cuda":
            return device
    return check_device(kind)


def _cuda_facade() -> Facade:
    def current_device() -> int:
        check_device("cuda")
        return int(torch.cuda.current_device())

    def get_device_name(index: int = 0) -> str:
        check_device(f"cuda:{index}" if isinstance(index, int) else "cuda")
        return str(torch.cuda.get_device_name(index))

    return Facade(
        "torch.cuda",
        {
            "is_available": Func("torch.cuda.is_available", torch.cuda.is_available, kwargs=frozenset()),
            "device_count": Func("torch.cuda.device_count", torch.cuda.device_count, kwargs=frozenset()),
            "current_device": Func("torch.cuda.current_device", current_device, kwargs=frozenset()),
            "get_device_name": Func("torch.cuda.get_device_name", get_device_name, kwargs=frozenset()),
        },
    )


def _accelerator_facade() -> Facade:
    """``torch.accelerator``: what the machine has, as torch says (using it is checked per device)."""
    names = ("is_available", "device_count", "current_accelerator")
    return Facade(
        "torch.accelerator",
        {n: Func(f"torch.accelerator.{n}", getattr(torch.accelerator, n), kwargs=frozenset()) for n in names},
    )


# nn: module classes (constructors with weight-size guards) and parameters.
_LAYERS = layer_classes()
MODULE_TYPES: tuple[type[_nn.Module], ...] = tuple(_LAYERS.values())
_MODULE_GUARDS: dict[type[_nn.Module], Guard] = {
    _nn.Linear: guards.layer(guards.linear_weight),
    _nn.Conv2d: guards.layer(guards.conv_weight),
    _nn.Sequential: guards.sequential,
    _nn.ModuleList: guards.module_list,
}


def _constructor(cls: type[_nn.Module]) -> Any:
    def make(*args: Any, **kwargs: Any) -> _nn.Module:
        return construct(cls, args, kwargs)

    return make


def _nn_facade(functional: Facade) -> Facade:
    """Every layer by class, built on meta first (``modules.py``); ``nn.init``; ``Parameter``."""
    members: dict[str, object] = {
        name: Func(f"nn.{name}", _constructor(cls), _MODULE_GUARDS.get(cls), AnyKeywords(), "modules", cls)
        for name, cls in _LAYERS.items()
    }
    members["Module"] = Func("nn.Module", _base_only("nn.Module"), cls=_nn.Module)
    members["Parameter"] = Func("nn.Parameter", _nn.Parameter)
    members["functional"] = functional
    members["init"] = _init_facade()
    return Facade("torch.nn", members)


def _init_facade() -> Facade:
    """``nn.init``: in-place fills, pre-flighted like any op (``orthogonal_`` is a QR)."""
    members: dict[str, object] = {}
    for name in dir(_nn.init):
        impl = getattr(_nn.init, name)
        if name.startswith("_") or name in ("sparse_", "sparse") or isinstance(impl, type):
            continue  # sparse_ fills a sparse layout
        if not callable(impl) or getattr(impl, "__module__", "") != "torch.nn.init":
            continue
        members[name] = Func(f"nn.init.{name}", impl, preflighted(name, impl), AnyKeywords())
    return Facade("torch.nn.init", members)


_F_GUARDS: dict[str, Guard | None] = {
    "relu": None, "sigmoid": None, "tanh": None, "softmax": None, "log_softmax": None, "gelu": None,
    "leaky_relu": None, "dropout": None, "normalize": None, "mse_loss": guards.broadcasting,
    "l1_loss": guards.broadcasting, "binary_cross_entropy": guards.broadcasting,
    "binary_cross_entropy_with_logits": guards.broadcasting, "cross_entropy": None, "nll_loss": None,
    "linear": guards.linear, "conv2d": guards.conv2d, "one_hot": guards.one_hot, "max_pool2d": None,
}  # fmt: skip


def _functional_facade() -> Facade:
    """Every public function of ``torch.nn.functional``, each with its guard or its pre-flight."""
    members: dict[str, object] = {}
    for name in dir(_F):
        impl = getattr(_F, name)
        if name.startswith("_") or isinstance(impl, type) or not callable(impl) or surface_refusal(name):
            continue
        if not (getattr(impl, "__module__", "") or "").startswith(("torch.nn.functional", "torch._C")):
            continue  # re-exported helpers (typing, warnings…)
        guard = _F_GUARDS.get(name) or preflighted(name, impl)
        members[name] = Func(f"F.{name}", impl, guard, None if name in _F_GUARDS else AnyKeywords())
    return Facade("torch.nn.functional", members)


OPTIMIZER_TYPES: tuple[type[_optim.Optimizer], ...] = tuple(
    getattr(_optim, n)
    for n in dir(_optim)
    if isinstance(getattr(_optim, n), type)
    and issubclass(getattr(_optim, n), _optim.Optimizer)
    and getattr(_optim, n) is not _optim.Optimizer
)
SCHEDULER_TYPES: tuple[type[Any], ...] = tuple(
    getattr(_optim.lr_scheduler, n)
    for n in dir(_optim.lr_scheduler)
    if isinstance(getattr(_optim.lr_scheduler, n), type)
    and issubclass(getattr(_optim.lr_scheduler, n), _optim.lr_scheduler.LRScheduler)
    and not n.startswith("_")
    and n not in ("LRScheduler", "_LRScheduler", "ChainedScheduler", "SequentialLR")
)


def _optim_facade() -> Facade:
    """Every optimizer, and the learning-rate schedulers (a ``LambdaLR`` lambda is the program's own)."""
    members: dict[str, object] = {
        cls.__name__: Func(f"optim.{cls.__name__}", cls, kwargs=AnyKeywords()) for cls in OPTIMIZER_TYPES
    }
    members["Optimizer"] = Func("optim.Optimizer", _base_only("optim.Optimizer"), cls=_optim.Optimizer)
    schedulers: dict[str, object] = {
        cls.__name__: Func(f"lr_scheduler.{cls.__name__}", cls, kwargs=AnyKeywords(), accepts="any")
        for cls in SCHEDULER_TYPES
    }
    members["lr_scheduler"] = Facade("torch.optim.lr_scheduler", schedulers)
    return Facade("torch.optim", members)


# numpy: a tiny subset, with a per-run random generator (no global numpy state).
NUMPY_DTYPES: tuple[type[Any], ...] = (numpy.float32, numpy.float64, numpy.int32, numpy.int64, numpy.bool_)


def _np_random(name: str) -> Func:
    def sample(*shape: int) -> numpy.ndarray:
        rng = budget.state().np_rng
        return rng.standard_normal(shape) if name == "randn" else rng.random(shape)

    return Func(f"np.random.{name}", sample, guards.numpy_random, kwargs=frozenset())


def _np_array(data: Any, dtype: Any = None) -> numpy.ndarray:
    """``np.array`` of numbers only: an object array would hold (and call) arbitrary values."""
    array = numpy.array(data, dtype=dtype)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"np.array here takes numbers, not {array.dtype}")
    return array


# numpy functions whose result is at most their inputs (broadcast together), and joins.
_NP_ELEMENTWISE = words(
    "sum mean max min std var prod cumsum argmax argmin amax amin exp log log1p expm1 sqrt abs absolute "
    "square tanh sin cos tan sign floor ceil round clip add subtract multiply divide true_divide power "
    "maximum minimum transpose reshape ravel squeeze expand_dims zeros_like ones_like where allclose isclose "
    "array_equal equal greater less mean median average flip sort argsort count_nonzero all any isnan isinf"
)
_NP_JOINED = words("hstack vstack concatenate stack column_stack")


def _np_facade() -> Facade:
    members: dict[str, object] = {
        "array": Func("np.array", _np_array, guards.data),
        "zeros": Func("np.zeros", numpy.zeros, guards.numpy_sized),
        "ones": Func("np.ones", numpy.ones, guards.numpy_sized),
        "arange": Func("np.arange", numpy.arange, guards.arange),
        "random": Facade("numpy.random", {"randn": _np_random("randn"), "rand": _np_random("rand")}),
        "pi": _math.pi,
        "e": _math.e,
        "linspace": Func("np.linspace", numpy.linspace, guards.linspace, AnyKeywords()),
        "broadcast_to": Func("np.broadcast_to", numpy.broadcast_to, guards.numpy_broadcast_to, AnyKeywords()),
    }
    for names, guard in ((("dot", "matmul"), guards.matmul), (_NP_JOINED, guards.numpy_joined),
                         (_NP_ELEMENTWISE, guards.numpy_elementwise)):  # fmt: skip
        members.update({n: Func(f"np.{n}", getattr(numpy, n), guard, AnyKeywords()) for n in names})
    members.update({t.__name__: t for t in NUMPY_DTYPES})
    members["bool"] = numpy.bool_
    return Facade("numpy", members)


def _math_facade() -> Facade:
    members: dict[str, object] = {n: getattr(_math, n) for n in ("pi", "e", "tau", "inf", "nan")}
    for name in ("sqrt", "exp", "log", "log2", "log10", "sin", "cos", "tan", "tanh", "floor", "ceil", "fabs"):
        members[name] = Func(f"math.{name}", getattr(_math, name), kwargs=frozenset())
    return Facade("math", members)


F = _functional_facade()
NN = _nn_facade(F)
OPTIM = _optim_facade()
NP = _np_facade()
MATH = _math_facade()

def _namespace_facade(namespace: str) -> Facade:
    """``torch.linalg`` and ``torch.special``: every function pre-flighted, like the top level."""
    members: dict[str, object] = {
        name: Func(f"torch.{namespace}.{name}", impl, preflighted(name, impl), AnyKeywords())
        for name, impl in submodule_functions(namespace).items()
    }
    return Facade(f"torch.{namespace}", members)


def _torch_facade() -> Facade:
    from gradtrace.run import facades_lang as lang

    members = {**_torch_funcs(), "cuda": _cuda_facade(), "nn": NN, "optim": OPTIM, **_legacy_constructors()}
    members["accelerator"] = _accelerator_facade()
    members.update({namespace: _namespace_facade(namespace) for namespace in SUBMODULES})
    members.update({"autograd": lang.AUTOGRAD, "utils": lang.UTILS})
    return Facade("torch", members)


TORCH = _torch_facade()


def _facade_member(facade: Facade, name: str) -> Facade:
    member = facade.members[name]
    assert isinstance(member, Facade)
    return member


def _language_facades() -> dict[str, Facade]:
    from gradtrace.run import facades_lang as lang
    from gradtrace.run.facades_itertools import ITERTOOLS

    return {
        "init": _facade_member(NN, "init"), "lr_scheduler": _facade_member(OPTIM, "lr_scheduler"),
        "linalg": _facade_member(TORCH, "linalg"), "special": _facade_member(TORCH, "special"),
        "random": lang.RANDOM, "collections": lang.COLLECTIONS, "typing": lang.TYPING,
        "autograd": lang.AUTOGRAD, "autograd_functional": lang.FUNCTIONAL,
        "utils": lang.UTILS, "data": lang.DATA, "matplotlib": lang.MATPLOTLIB, "plt": lang.PLT,
        "itertools": ITERTOOLS, "checkpoint": lang.CHECKPOINT,
    }  # fmt: skip


FACADES: dict[str, Facade] = {"torch": TORCH, "nn": NN, "F": F, "optim": OPTIM, "np": NP, "math": MATH}
IMPORT_ONLY: dict[str, Facade] = _language_facades()  # importable, not preset names


def _warm_up() -> None:
    """The first optimizer torch builds imports ``torch._dynamo`` (~2 s of CPU).

    Pay that once when a worker imports the sandbox, not inside a student's time budget.
    """
    parameter = _nn.Parameter(torch.zeros(1))
    _optim.SGD([parameter], lr=0.1)
    _optim.Adam([parameter], lr=0.1)


_warm_up()
