"""The modules tutorials import beside torch: ``random``, ``collections``, ``typing``,
``torch.autograd``, ``torch.utils.data`` and ``matplotlib.pyplot`` (accepted, not drawn).

``random`` is the run's own generator, seeded like torch: a program never touches
the process's random state, and the next program starts from the same seed.
``DataLoader`` is the sandbox's own: it walks the dataset through the interpreter
(a program's ``__getitem__`` runs with the budget) and stacks rows as torch does.
"""

from __future__ import annotations

import collections
import random as _random
from typing import Any

import torch
from torch import nn
from torch.utils import data as torch_data

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget, dispatch
from gradtrace.run.backward import charge_backward
from gradtrace.run.indexing import get_item
from gradtrace.run.namedtuples import namedtuple
from gradtrace.run.objects import DefaultDict
from gradtrace.run.shapes import charge
from gradtrace.run.values import INERT_CALL, Facade, Func, words
from gradtrace.sandbox import check_sequence


def _not_callable(name: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise GradtraceError(
            "not_allowed", "call_not_allowed", {"what": f"{name}(...) (use it as a base class)"}
        )

    return refuse


# ----- random -----
def _rng() -> _random.Random:
    state = budget.state()
    if state.py_rng is None:
        state.py_rng = _random.Random(0)
    return state.py_rng


def _sized_population(population: Any) -> list[Any]:
    from gradtrace.run.builtins_iter import items_of

    return items_of(population, "the population")


def _random_facade() -> Facade:
    def seed(value: Any = None) -> None:
        if value is not None and not isinstance(value, int | float | str):
            raise TypeError("seed must be a number or a string")
        _rng().seed(value if value is not None else 0)

    def shuffle(items: list[Any]) -> None:
        if not isinstance(items, list):
            raise TypeError("shuffle() takes a list")
        _rng().shuffle(items)

    def sample(population: Any, k: int) -> list[Any]:
        return _rng().sample(_sized_population(population), k)

    def choice(population: Any) -> Any:
        return _rng().choice(_sized_population(population))

    def randint(low: int, high: int) -> int:
        return _rng().randint(int(low), int(high))

    members: dict[str, object] = {
        "seed": Func("random.seed", seed, kwargs=frozenset()),
        "random": Func("random.random", lambda: _rng().random(), kwargs=frozenset()),
        "uniform": Func("random.uniform", lambda a, b: _rng().uniform(a, b), kwargs=frozenset()),
        "gauss": Func("random.gauss", lambda mu=0.0, sigma=1.0: _rng().gauss(mu, sigma), kwargs=frozenset()),
        "randint": Func("random.randint", randint, kwargs=frozenset()),
        "choice": Func("random.choice", choice, kwargs=frozenset()),
        "shuffle": Func("random.shuffle", shuffle, kwargs=frozenset()),
        "sample": Func("random.sample", sample, kwargs=frozenset({"k"})),
    }
    return Facade("random", members)


# ----- collections -----
def _ordered_dict(*args: Any, **kwargs: Any) -> collections.OrderedDict[Any, Any]:
    from gradtrace.run.builtins_types import TYPE_BUILTINS

    return collections.OrderedDict(TYPE_BUILTINS["dict"].impl(*args, **kwargs))


def _default_dict(factory: Any = None, *args: Any) -> DefaultDict:
    from gradtrace.run.builtins_types import TYPE_BUILTINS

    return DefaultDict(factory, TYPE_BUILTINS["dict"].impl(*args))


def _collections_facade() -> Facade:
    return Facade(
        "collections",
        {
            "OrderedDict": Func(
                "collections.OrderedDict", _ordered_dict, accepts="any", cls=collections.OrderedDict
            ),
            "defaultdict": Func(
                "collections.defaultdict", _default_dict, kwargs=frozenset(), accepts="any", cls=DefaultDict
            ),
            "namedtuple": Func(
                "collections.namedtuple", namedtuple, kwargs=frozenset({"defaults"}), accepts="any"
            ),
        },
    )


# ----- typing: names for annotations (never evaluated) -----
class _Hint:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"typing.{self.name}"


def _typing_facade() -> Facade:
    names = words("Any List Dict Tuple Optional Union Callable Iterable Iterator Sequence Set Type")
    return Facade("typing", {name: _Hint(name) for name in names})


# ----- torch.autograd -----
def _variable(data: Any, requires_grad: bool = False) -> torch.Tensor:
    """``Variable(t, requires_grad=True)``: since torch 0.4 a Variable is the tensor itself."""
    if not isinstance(data, torch.Tensor):
        raise TypeError("Variable() takes a tensor")
    if requires_grad and not data.requires_grad:
        data.requires_grad_(True)
    return data


def _grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: Any = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """``torch.autograd.grad``: charged like ``backward`` (every graph it walks, before it runs)."""
    for output in outputs if isinstance(outputs, list | tuple) else (outputs,):
        if not isinstance(output, torch.Tensor):
            raise TypeError("outputs must be tensors")
        charge_backward(output)
    state = budget.state()
    state.backward_calls += 1
    result = torch.autograd.grad(
        outputs,
        inputs,
        grad_outputs=grad_outputs,
        retain_graph=retain_graph,
        create_graph=create_graph,
        allow_unused=allow_unused,
    )
    for tensor in result:
        if isinstance(tensor, torch.Tensor):
            charge(tensor)
    return tuple(result)


def _jacobian(func: Any, inputs: Any, create_graph: bool = False, strict: bool = False) -> Any:
    """``torch.autograd.functional.jacobian(f, x)``: ``f`` runs in the interpreter, then one
    ``autograd.grad`` per output element, each charged like a backward before it runs."""
    from gradtrace.run.calls import call

    single_input = isinstance(inputs, torch.Tensor)
    xs = tuple(x.detach().requires_grad_(True) for x in ((inputs,) if single_input else tuple(inputs)))
    with torch.enable_grad():
        out = call(func, xs, {})
    single_output = isinstance(out, torch.Tensor)
    outs = (out,) if single_output else tuple(out)
    rows = [_jacobian_rows(o, xs, create_graph) for o in outs]
    per_output = [r[0] if single_input else tuple(r) for r in rows]
    return per_output[0] if single_output else tuple(per_output)


def _jacobian_rows(out: torch.Tensor, xs: tuple[torch.Tensor, ...], create_graph: bool) -> list[torch.Tensor]:
    flat = out.reshape(-1)
    count = flat.numel()
    budget.budget().expect(count, count)
    columns: list[list[torch.Tensor]] = [[] for _ in xs]
    for index in range(count):
        budget.budget().loop()
        charge_backward(out)
        grads = torch.autograd.grad(
            flat[index], xs, retain_graph=True, create_graph=create_graph, allow_unused=True
        )
        for column, grad, x in zip(columns, grads, xs, strict=True):
            column.append(torch.zeros_like(x) if grad is None else grad)
    return [torch.stack(column).reshape(*out.shape, *x.shape) for column, x in zip(columns, xs, strict=True)]


def _host_callable(func: Any, passes: int) -> Any:
    """``func`` (the program's) as a callable torch's own autograd tools may call: it runs in the
    interpreter, and the ``passes`` backward passes the tool will make through what it returns
    are charged before the tool makes them."""
    from gradtrace.run.calls import call

    def run(*args: Any) -> Any:
        out = call(func, args, {})
        for tensor in out if isinstance(out, tuple | list) else (out,):
            if isinstance(tensor, torch.Tensor):
                for _ in range(passes):
                    charge_backward(tensor)
        return out

    return run


def _input_elements(inputs: Any) -> int:
    tensors = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    return sum(t.numel() for t in tensors if isinstance(t, torch.Tensor))


_CHECK_STEPS = 60  # torch's own work per perturbed element or per Jacobian row, in interpreter steps


def _gradcheck(func: Any, inputs: Any, **options: Any) -> bool:
    """``torch.autograd.gradcheck``: two forward runs per input element (the numerical Jacobian)
    and one backward per output element, counted before torch makes them; the two Jacobians
    (inputs × outputs elements each) before they are allocated."""
    n = _input_elements(inputs)
    budget.budget().expect(2 * n, _CHECK_STEPS * 2 * n)
    sized: list[int] = []
    run = _host_callable(func, 1)

    def checked(*args: Any) -> Any:
        out = run(*args)
        if not sized:
            sized.append(_input_elements(out if isinstance(out, tuple | list) else (out,)))
            budget.budget().expect(sized[0], _CHECK_STEPS * sized[0])
            budget.budget().created(2 * n * sized[0])
        return out

    return bool(torch.autograd.gradcheck(checked, inputs, **options))


def _functional(name: str, passes: int) -> Any:
    """``vjp``/``jvp``/``hvp``/``vhp``: one forward and ``passes`` backward passes through it."""
    tool = getattr(torch.autograd.functional, name)

    def apply(func: Any, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> Any:
        return tool(_host_callable(func, passes), inputs, v, create_graph=create_graph, strict=strict)

    return apply


def _hessian(func: Any, inputs: Any, create_graph: bool = False, strict: bool = False) -> Any:
    """``torch.autograd.functional.hessian``: one backward per input element through the gradient."""
    n = _input_elements(inputs)
    budget.budget().expect(n, n)
    return torch.autograd.functional.hessian(
        _host_callable(func, 2 + 2 * n), inputs, create_graph=create_graph, strict=strict
    )


_GRADCHECK_OPTIONS = frozenset(
    {"eps", "atol", "rtol", "raise_exception", "nondet_tol", "check_undefined_grad", "fast_mode",
     "check_grad_dtypes", "check_backward_ad"}
)  # fmt: skip


def _autograd_facade() -> Facade:
    return Facade(
        "torch.autograd",
        {
            "Variable": Func("torch.autograd.Variable", _variable, kwargs=frozenset({"requires_grad"})),
            "Function": Func(
                "torch.autograd.Function", _not_callable("Function"), cls=torch.autograd.Function
            ),
            "functional": FUNCTIONAL,
            "gradcheck": Func(
                "torch.autograd.gradcheck", _gradcheck, kwargs=_GRADCHECK_OPTIONS, accepts="any"
            ),
            "grad": Func(
                "torch.autograd.grad",
                _grad,
                kwargs=frozenset(
                    {"outputs", "inputs", "grad_outputs", "retain_graph", "create_graph", "allow_unused"}
                ),
            ),
        },
    )


FUNCTIONAL = Facade(
    "torch.autograd.functional",
    {
        "jacobian": Func(
            "torch.autograd.functional.jacobian",
            _jacobian,
            kwargs=frozenset({"create_graph", "strict"}),
            accepts="any",
        ),
        "hessian": Func(
            "torch.autograd.functional.hessian",
            _hessian,
            kwargs=frozenset({"create_graph", "strict"}),
            accepts="any",
        ),
        **{
            name: Func(
                f"torch.autograd.functional.{name}",
                _functional(name, passes),
                kwargs=frozenset({"v", "create_graph", "strict"}),
                accepts="any",
            )
            for name, passes in (("vjp", 1), ("jvp", 2), ("vhp", 2), ("hvp", 3))
        },
    },
)


# ----- torch.utils.data -----
class DataLoader:
    """Batches of a dataset, each epoch walked by the interpreter (``for xb, yb in loader``)."""

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        num_workers: int = 0,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError("batch_size should be a positive integer")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)

    def __len__(self) -> int:
        count = _dataset_length(self.dataset)
        full, rest = divmod(count, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __repr__(self) -> str:
        return f"<DataLoader batch_size={self.batch_size}>"

    def iterate_in_sandbox(self) -> Any:
        count = _dataset_length(self.dataset)
        budget.budget().expect(count, count)
        torch.empty((), dtype=torch.int64).random_()  # torch's loader draws its base seed first
        order = list(range(count))
        if self.shuffle:  # then RandomSampler seeds its own generator from the global one
            generator = torch.Generator()
            generator.manual_seed(int(torch.empty((), dtype=torch.int64).random_().item()))
            order = torch.randperm(count, generator=generator).tolist()
        for start in range(0, count, self.batch_size):
            indices = order[start : start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                return
            yield _collate([get_item(self.dataset, i) for i in indices])


def _dataset_length(dataset: Any) -> int:
    from gradtrace.run.builtins import BUILTINS

    length = BUILTINS["len"].impl(dataset)
    check_sequence(length, budget.budget().limits)
    return int(length)


def _collate(rows: list[Any]) -> Any:
    """torch's default collation: tensors stacked, numbers made tensors, tuples column by column."""
    first = rows[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(rows)
    if isinstance(first, bool | int | float):
        return torch.tensor(rows)
    if isinstance(first, tuple | list):
        return [_collate([row[i] for row in rows]) for i in range(len(first))]
    if isinstance(first, dict):
        return {key: _collate([row[key] for row in rows]) for key in first}
    return rows


def _tensor_dataset(*tensors: Any) -> torch_data.TensorDataset:
    if not all(isinstance(t, torch.Tensor) for t in tensors):
        raise TypeError("TensorDataset takes tensors")
    return torch_data.TensorDataset(*tensors)


def _random_split(dataset: Any, lengths: Any) -> list[Any]:
    count = _dataset_length(dataset)
    sizes = [int(length) for length in lengths]
    if sum(sizes) != count:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = torch.randperm(count).tolist()
    parts, start = [], 0
    for size in sizes:
        parts.append(torch_data.Subset(dataset, order[start : start + size]))
        start += size
    return parts


def _data_facade() -> Facade:
    return Facade(
        "torch.utils.data",
        {
            "Dataset": Func("Dataset", _not_callable("Dataset"), cls=torch_data.Dataset),
            "TensorDataset": Func(
                "TensorDataset", _tensor_dataset, kwargs=frozenset(), cls=torch_data.TensorDataset
            ),
            "DataLoader": Func(
                "DataLoader",
                DataLoader,
                accepts="modules",
                cls=DataLoader,
                kwargs=frozenset({"dataset", "batch_size", "shuffle", "drop_last", "num_workers"}),
            ),
            "random_split": Func("random_split", _random_split, kwargs=frozenset()),
        },
    )


# ----- matplotlib.pyplot: accepted and ignored -----
def _plt_facade() -> Facade:
    names = words(
        "plot scatter show figure subplot subplots title xlabel ylabel legend imshow hist bar grid xlim ylim "
        "axis tight_layout savefig close clf cla gca gcf colorbar suptitle text pause ion ioff axhline "
        "axvline "
        "fill_between semilogy loglog contour contourf quiver errorbar annotate xticks yticks style draw"
    )
    return Facade("matplotlib.pyplot", dict.fromkeys(names, INERT_CALL))


_ = (nn, dispatch)
RANDOM = _random_facade()
COLLECTIONS = _collections_facade()
TYPING = _typing_facade()
AUTOGRAD = _autograd_facade()
DATA = _data_facade()
PLT = _plt_facade()
def _checkpoint(
    function: Any, *args: Any, use_reentrant: bool | None = None, preserve_rng_state: bool = True
) -> Any:
    """``torch.utils.checkpoint.checkpoint(f, x)``: ``f`` runs in the interpreter, and again during
    backward (torch recomputes it instead of keeping its activations): both runs are charged."""
    import torch.utils.checkpoint as torch_checkpoint

    reentrant = True if use_reentrant is None else bool(use_reentrant)
    # No early stop: torch would end the recomputation by raising through the program's frames.
    with torch_checkpoint.set_checkpoint_early_stop(False):
        return torch_checkpoint.checkpoint(
            _host_callable(function, 1), *args, use_reentrant=reentrant, preserve_rng_state=preserve_rng_state
        )


CHECKPOINT = Facade(
    "torch.utils.checkpoint",
    {
        "checkpoint": Func(
            "torch.utils.checkpoint.checkpoint",
            _checkpoint,
            kwargs=frozenset({"use_reentrant", "preserve_rng_state"}),
            accepts="any",
        )
    },
)
UTILS = Facade("torch.utils", {"data": DATA, "checkpoint": CHECKPOINT})
MATPLOTLIB = Facade("matplotlib", {"pyplot": PLT})
