"""Running checked programs: the notes' numbers, the result contract, the observer, errors."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.overrides import TorchFunctionMode

from gradtrace.core import DEFAULT_LIMITS, GradtraceError, Span
from gradtrace.run import RunResult, current_span, execute
from gradtrace.sandbox import check


def run(source: str, **kwargs: Any) -> RunResult:
    return execute(check(source), **kwargs)


def frames(error: BaseException) -> list[str]:
    names, tb = [], error.__traceback__
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_filename.rsplit("/", 1)[-1])
        tb = tb.tb_next
    return names


def failure(source: str, **limits: int) -> GradtraceError:
    with pytest.raises(GradtraceError) as info:
        run(source, limits=DEFAULT_LIMITS.with_overrides(**limits))
    return info.value


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        ("x = torch.tensor([2.0], requires_grad=True)\ny = x**2 + 3*x + 1\ny.backward()", "x", [7.0]),
        (
            "x = torch.tensor([2.0], requires_grad=True)\ny = x**3 + 2*x**2 - 5*x + 3\ny.backward()",
            "x",
            [15.0],
        ),
        ("w = torch.tensor(2.0, requires_grad=True)\ny = w**2\nz = 2*y + 5\nz.backward()", "w", 8.0),
        (
            "w = torch.tensor(4.0, requires_grad=True)\nx = torch.tensor(3.0, requires_grad=True)\n"
            "l = (3 * w)**2 + (2 * x)**2\nl.backward()",
            "w",
            72.0,
        ),
    ],
)
def test_the_notes_gradients(source: str, name: str, expected: Any) -> None:
    result = run(source)
    grad = result.variables[name].grad  # type: ignore[attr-defined]
    assert grad.tolist() == expected


def test_result_contract() -> None:
    result = run(
        "import torch\nx = torch.tensor([2.0], requires_grad=True)\ny = x**2 + 3*x + 1\n"
        'y.backward()\nn = 3\nprint(x.grad)\nprint(f"f\'(2) = {x.grad.item()}")'
    )
    assert list(result.variables) == ["x", "y", "n"]  # not the presets, not the import
    assert result.printed == "tensor([7.])\nf'(2) = 7.0\n"
    assert result.output_name == "y"
    assert result.spans["y"] == Span(3, 1, 3, 19)
    assert (result.device, result.backward_calls) == ("cpu", 1)


def test_output_rules() -> None:
    assert run("a = torch.ones(2)\nb = torch.zeros(2)").output_name == "b"
    source = "w = torch.ones(2, requires_grad=True)\ny = w * 2\nz = torch.zeros(2)"
    assert run(source).output_name == "y"
    assert run(source, output="z").output_name == "z"
    with pytest.raises(GradtraceError) as info:
        run("n = 3", output="n")
    assert info.value.code == "output_not_tensor"
    with pytest.raises(GradtraceError):
        run("n = 3", output="missing")


def test_the_mlp_lesson_trains_one_step() -> None:
    result = run(
        "model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 1))\n"
        "optimizer = optim.SGD(model.parameters(), lr=0.1)\n"
        "x = torch.randn(4, 10)\ntarget = torch.randn(4, 1)\n"
        "loss = nn.MSELoss()(model(x), target)\n"
        "optimizer.zero_grad()\nloss.backward()\noptimizer.step()\nprint(model)"
    )
    assert result.output_name == "loss"
    assert "Linear(in_features=10, out_features=8" in result.printed


class Recorder:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.backwards: list[tuple[bool | None, Span | None]] = []

    def assigned(self, name: str, value: object, span: Span) -> None:
        self.names.append(name)

    def recorded(self) -> tuple[int, int]:
        return 0, 0

    def backward(
        self,
        tensor: torch.Tensor,
        gradient: torch.Tensor | None,
        retain_graph: bool | None,
        span: Span | None,
    ) -> None:
        self.backwards.append((retain_graph, span))
        tensor.backward(gradient=gradient, retain_graph=retain_graph)


def test_observer_sees_bindings_and_runs_backward() -> None:
    observer = Recorder()
    result = run(
        "x = torch.tensor(2.0, requires_grad=True)\na, b = x * 2, x * 3\nfor i in range(2):\n    pass\n"
        "s = a + b\ns.backward(retain_graph=True)",
        observer=observer,
    )
    assert observer.names == ["x", "a", "b", "i", "i", "s"]
    assert observer.backwards == [(True, Span(6, 1, 6, 30))]
    assert result.variables["x"].grad.item() == 5.0  # type: ignore[attr-defined]


def test_torch_errors_inside_the_observer_are_explained() -> None:
    with pytest.raises(GradtraceError) as info:
        run(
            "x = torch.tensor(2.0, requires_grad=True)\ny = x * x\ny.backward()\ny.backward()",
            observer=Recorder(),
        )
    assert (info.value.code, info.value.span and info.value.span.line) == ("backward_twice", 4)


class SpanLog(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, Span | None]] = []

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.seen.append((getattr(func, "__name__", str(func)), current_span.get()))
        return func(*args, **(kwargs or {}))


def test_current_span_names_the_expression_of_each_op() -> None:
    with SpanLog() as log:
        run("x = torch.ones(2, requires_grad=True)\ny = x * 2 + 1")
    spans = {name: span for name, span in log.seen if span is not None}
    assert spans["mul"] == Span(2, 5, 2, 10)
    assert spans["add"] == Span(2, 5, 2, 14)
    assert current_span.get() is None


def test_global_state_is_restored() -> None:
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    first = run("a = torch.rand(3)").variables["a"]
    second = run("torch.manual_seed(5)\na = torch.rand(3)\nwith torch.no_grad():\n    b = 1").variables["a"]
    assert torch.equal(first, run("a = torch.rand(3)").variables["a"])  # seeded per run
    assert not torch.equal(first, second)
    assert torch.equal(torch.rand(1), expected)  # the caller's RNG stream is untouched
    assert torch.is_grad_enabled()
    assert torch.get_default_dtype() == torch.float32


def test_a_run_seed_gives_the_numbers_of_torch_manual_seed() -> None:
    """The run seeds only the devices it can reach; the numbers must be torch's own."""
    for seed in (0, 7, 2**40):
        torch.manual_seed(seed)
        expected = (torch.rand(4), torch.randn(2, 2), torch.randint(0, 100, (3,)))
        got = run("a = torch.rand(4)\nb = torch.randn(2, 2)\nc = torch.randint(0, 100, (3,))", seed=seed)
        values = [got.variables[k] for k in "abc"]
        assert all(torch.equal(g, e) for g, e in zip(values, expected, strict=True))
        inner = run(f"torch.manual_seed({seed})\na = torch.rand(4)", seed=seed + 1)
        assert torch.equal(inner.variables["a"], expected[0])


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("x = torch.tensor([1.0], requires_grad=True)\nx += 1", "inplace_leaf"),
        (
            "x = torch.tensor(2.0, requires_grad=True)\ny = x * x\ny.backward()\ny.backward()",
            "backward_twice",
        ),
        ("x = torch.ones(3, requires_grad=True)\ny = x * 2\ny.backward()", "grad_non_scalar"),
        ("a = torch.ones(2, 3)\nb = torch.ones(2, 3)\nc = a @ b", "matmul_shape"),
        ("x = torch.tensor([1, 2], requires_grad=True)", "int_requires_grad"),
        ("x = torch.ones(2, requires_grad=True)\nn = x.numpy()", "numpy_requires_grad"),
        ("a = torch.ones(3)\nb = torch.ones(4)\nc = a + b", "shape_mismatch"),
        ("x = torch.ones(2)\ny = x.sum()\ny.backward()", "no_grad_fn"),
    ],
)
def test_common_torch_errors_are_explained(source: str, code: str) -> None:
    error = failure(source)
    assert (error.type, error.code) == ("runtime", code)
    assert error.span is not None and error.span.line == source.count("\n") + 1
    assert error.message("en") != error.message("ko")
    assert error.hint("en") and error.hint("ko")
    assert error.__context__ is None and error.__cause__ is None  # no torch frames ride along
    assert "interpreter.py" not in frames(error)  # the traceback stops at the boundary


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a machine without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    assert failure("x = torch.ones(2).to('cuda')").code == "device_unavailable"
    assert failure("x = torch.ones(2, device='cuda')").code == "device_unavailable"
    assert failure("x = torch.ones(2).cuda()").code == "device_unavailable"
    with pytest.raises(GradtraceError) as info:
        run("x = 1", device="cuda")
    assert info.value.code == "device_unavailable"
    result = run(
        "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\nx = torch.ones(1).to(device)"
    )
    assert result.variables["x"].device.type == "cpu"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("x = torch.zeros(100000, 100000)", "tensor_too_large"),
        ("x = torch.ones(1500, 1500)\ny = x @ x", "too_much_work"),
        ("n = 2\nfor i in range(10):\n    n = n * n", "int_too_large"),
        ("x = [[0] * 1000] * 1000", "sequence_too_long"),
        ("x = torch.ones(3000, 1000)\ny = torch.tensor([x, x])", "tensor_too_large"),
        ("for i in range(10**9):\n    pass", "too_many_iterations"),
        ("x = torch.ones(1)\nfor i in range(3000):\n    print(x)", "print_too_long"),
    ],
)
def test_limits_stop_programs_before_they_allocate(source: str, code: str) -> None:
    error = failure(source, print_chars=10_000, flops=1_000_000_000, steps=10**7)
    assert (error.type, error.code) == ("limit", code)


def test_callables_are_checked_by_identity_at_call_time() -> None:
    result = run("f = torch.exp\ng = [torch.sin][0]\nx = f(torch.zeros(1)) + g(torch.zeros(1))")
    assert result.variables["x"].tolist() == [1.0]  # type: ignore[attr-defined]
    assert failure("x = torch.ones(1)\ns = x.shape\ns()").code == "call_not_allowed"
    assert failure("n = 3\nn()").code == "call_not_allowed"


@pytest.mark.parametrize(
    "source",
    [
        "x = torch.ones(1, requires_grad=True)\ny = x * 2\nv = y.grad_fn.next_functions[0][0].variable",
        "x = torch.ones(1, requires_grad=True)\ny = x * 2\ny.grad_fn.register_hook(print)",
        "x = torch.ones(1)\nd = x.dtype.to_complex()",
        "n = np.array([1])\nn.tofile('/tmp/x')",
        "x = torch.ones(1)\ns = x.untyped_storage()",
        "x = torch.ones(1)\nx.apply_(print)",
        "m = nn.Linear(2, 2)\nm.weight = None",
        "m = torch.nn.functional\nn = m.torch",
    ],
)
def test_reachable_values_go_through_the_attribute_policy(source: str) -> None:
    with pytest.raises(GradtraceError) as info:
        run(source)
    assert info.value.type == "not_allowed"


def test_no_user_callables_reach_torch() -> None:
    assert failure("x = torch.tensor([torch.exp])").code == "value_not_allowed"
    assert (
        failure("o = optim.SGD([torch.ones(1, requires_grad=True)], lr=0.1)\no.step(print)").type
        == "not_allowed"
    )


class _Raising:
    """An observer that raises ``exc`` when the program binds a name: an interruption mid-run."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def assigned(self, name: str, value: object, span: Span) -> None:
        raise self.exc

    def recorded(self) -> tuple[int, int]:
        return 0, 0

    def backward(self, tensor: Any, gradient: Any, retain_graph: Any, span: Any) -> None:
        raise self.exc


class _TimeoutSignal(BaseException):
    """Like the exception a test-timeout signal handler raises: not the worker's own shutdown."""


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(1)])
def test_worker_shutdown_is_not_the_programs_fault(exc: BaseException) -> None:
    with pytest.raises(type(exc)):
        run("x = 1", observer=_Raising(exc))
    assert torch.is_grad_enabled()


def test_other_base_exceptions_become_typed_errors() -> None:
    with pytest.raises(GradtraceError) as info:
        run("x = 1", observer=_Raising(_TimeoutSignal()))
    assert info.value.type == "runtime"


def test_run_time_recursion_reports_the_nesting_limit() -> None:
    limits = DEFAULT_LIMITS.with_overrides(nesting_depth=42)
    with pytest.raises(GradtraceError) as info:
        run("x = 1", observer=_Raising(RecursionError()), limits=limits)
    assert (info.value.code, info.value.params["limit"]) == ("too_deep", 42)
    assert "42" in info.value.to_dict("en")["message"]
