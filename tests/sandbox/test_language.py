"""The Python subset the interpreter implements, the numpy lessons, devices and loops."""

from __future__ import annotations

import ast
import time
from typing import Any

import pytest
import torch

from gradtrace.core import GradtraceError
from gradtrace.run import RunResult, available_devices, execute, resolve_device
from gradtrace.sandbox import check


def run(source: str, **kwargs: Any) -> RunResult:
    return execute(check(source), **kwargs)


def error_of(source: str) -> GradtraceError:
    with pytest.raises(GradtraceError) as info:
        run(source)
    return info.value


def test_statements_and_expressions() -> None:
    result = run(
        "a, (b, c) = 1, [2, 3]\nd = e = a + b * c ** 2\nsquares = [i * i for i in range(5) if i % 2 == 0]\n"
        "total = 0\nfor i in range(10):\n    if i == 5:\n        break\n    elif i % 2:\n        continue\n"
        "    else:\n        total += i\nflag = 1 < d <= 19 and not False\nname: str = 'x' if flag else 'y'\n"
        "print(f'합계 {total:>4} {d:.2f} {squares!r}', sep='', end='!')"
    )
    values = result.variables
    assert (values["d"], values["e"], values["total"], values["flag"], values["name"]) == (
        19,
        19,
        6,
        True,
        "x",
    )
    assert values["squares"] == [0, 4, 16]
    assert "i" in values and result.printed == "합계    6 19.00 [0, 4, 16]!"


def test_comprehension_variables_stay_inside() -> None:
    assert "k" not in run("xs = [k for k in range(3)]").variables
    assert error_of("xs = [k for k in range(3)]\ny = k").code == "name_undefined"


def test_course_imports_bind_the_curated_facades() -> None:
    result = run(
        "import torch.nn as layers\nfrom torch import optim as o\nfrom torch import tensor\n"
        "m = layers.Linear(2, 1)\nopt = o.SGD(m.parameters(), lr=0.1)\nt = tensor([1.0])"
    )
    assert set(result.variables) == {"m", "opt", "t"}
    assert error_of("from torch import load").code in {"import_not_allowed", "file_access_not_allowed"}


def test_the_numpy_lesson() -> None:
    source = (
        "data_list = [[1, 2], [3, 4]]\nnp_array = np.array(data_list)\nt = torch.from_numpy(np_array)\n"
        "back = t.numpy()\nz = np.zeros((3, 4))\nr = np.random.randn(3, 4)"
    )
    first, second = run(source), run(source)
    assert first.variables["t"].tolist() == [[1, 2], [3, 4]]  # type: ignore[attr-defined]
    assert (first.variables["r"] == second.variables["r"]).all()  # type: ignore[union-attr]
    assert error_of("a = np.array([[torch.exp]])").type == "runtime"  # no object arrays
    assert error_of("a = np.zeros(3)\na.tofile('/tmp/x')").type == "not_allowed"


def test_requires_grad_assignment() -> None:
    result = run("x = torch.ones(2, requires_grad=True)\nx.requires_grad = False")
    assert result.variables["x"].requires_grad is False  # type: ignore[attr-defined]
    source = "x = torch.ones(2, requires_grad=True)\ny = x * 2\ny.requires_grad = False"
    assert error_of(source).code == "nonleaf_requires_grad"
    assert error_of("x = torch.ones(2)\nx.requires_grad = 1").type == "runtime"


def test_devices() -> None:
    devices = available_devices()
    assert devices[0] == "cpu"
    assert resolve_device("cpu") == "cpu"
    assert error_of("x = torch.ones(1, device='meta')").code == "device_invalid"
    if torch.cuda.is_available():
        assert "cuda:0" in devices
        result = run("x = torch.ones(2, device=device)\ny = x * 2", device="cuda")
        assert result.device.startswith("cuda") and result.variables["y"].is_cuda  # type: ignore[attr-defined]
        assert error_of("a = torch.ones(2).cuda()\nb = torch.ones(2)\nc = a + b").code == "mixed_devices"
    else:
        with pytest.raises(GradtraceError) as info:
            resolve_device("cuda")
        assert info.value.code == "device_unavailable"


def test_loops_that_cannot_fit_are_refused_at_once() -> None:
    start = time.process_time()
    assert error_of("t = torch.ones(2000000, 1)\nfor row in t:\n    pass").code == "too_many_iterations"
    assert error_of("x = torch.ones(100)\nfor i in range(40000):\n    x = x + 1").code == "too_many_steps"
    assert time.process_time() - start < 0.5
    result = run("for i in range(10**6):\n    if i == 3:\n        break")  # may stop early: runs
    assert result.variables["i"] == 3


def test_rows_of_a_tensor() -> None:
    result = run("t = torch.arange(6).reshape(3, 2)\nrows = [r.sum().item() for r in t]\na, b, c = t")
    assert result.variables["rows"] == [1, 5, 9]
    assert result.variables["c"].tolist() == [4, 5]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("row = [0] * 100000\ngrid = [row] * 100000\nprint(grid)", "sequence_too_long"),
        ("row = [0] * 1000\ngrid = [row] * 1000\ns = f'{grid}'", "sequence_too_long"),
        ("a = [1] * 1000\nb = [a] * 1000\nc = sum(b, [])", "sequence_too_long"),
        ("m = nn.Sequential(*[nn.ReLU()] * 1000)", "sequence_too_long"),
        ("x = torch.eye(10**5)", "tensor_too_large"),
        ("s = 'a' * torch.tensor(10**9)", "sequence_too_long"),
        ("x = [0] * 100000\ny = x * torch.ones(100000, 1)", "tensor_too_large"),
        ("x = F.one_hot(torch.tensor([10**8]))", "tensor_too_large"),
        ("x = torch.ones(1).expand(4000000)\nfor i in range(10000):\n    s = x.sum()", "too_much_work"),
        (
            "x = torch.ones(1, requires_grad=True)\ny = x\nfor i in range(2000):\n    y = y * 1.0\n"
            "for j in range(5000):\n    y.backward(retain_graph=True)",
            "too_much_work",
        ),
        (
            "m = nn.Linear(2000, 2000)\nopt = optim.Adam(m.parameters(), lr=0.1)\n"
            "loss = m(torch.ones(1, 2000)).sum()\nloss.backward()\nfor i in range(5000):\n    opt.step()",
            "too_much_work",
        ),
    ],
)
def test_hidden_sizes_are_bounded(source: str, code: str) -> None:
    error = error_of(source)
    assert (error.type, error.code) == ("limit", code)


def test_with_accepts_only_grad_modes() -> None:
    assert error_of("with torch.ones(1):\n    pass").code == "with_not_allowed"
    result = run("x = torch.ones(1, requires_grad=True)\nwith torch.no_grad():\n    y = x * 2\nz = x * 2")
    assert result.variables["y"].grad_fn is None  # type: ignore[attr-defined]
    assert result.output_name == "z"


@pytest.mark.parametrize(
    "source",
    [
        "x = torch.linspace(0, 1, torch.tensor(10**9))",
        "x = torch.linspace(0, 1, steps=torch.tensor([10**9]))",
        "x = torch.zeros(torch.tensor(10**9))",
        "x = torch.ones(2, torch.tensor(10**9))",
        "x = torch.eye(torch.tensor(10**5))",
        "x = torch.randperm(torch.tensor(10**9))",
        "x = torch.randint(0, 3, (torch.tensor(10**9),))",
        "x = torch.full((torch.tensor(10**9),), 1.0)",
        "x = torch.ones(1).new_zeros(torch.tensor(10**9))",
        "x = torch.ones(1).expand(torch.tensor(10**9))",
        "x = torch.ones(1).repeat(torch.tensor(10**9))",
        "m = nn.Linear(torch.tensor(10**5), torch.tensor(10**5))",
    ],
)
def test_sizes_given_as_tensors_are_checked_like_ints(source: str) -> None:
    start = time.process_time()
    assert error_of(source).type == "limit"
    assert time.process_time() - start < 0.5


def test_small_sizes_given_as_tensors_still_work() -> None:
    result = run("n = torch.tensor(3)\nx = torch.linspace(0, 1, n)\ny = torch.zeros(2, n)\nz = torch.eye(n)")
    assert result.variables["x"].shape == (3,)  # type: ignore[attr-defined]
    assert result.variables["y"].shape == (2, 3)  # type: ignore[attr-defined]
    assert result.variables["z"].shape == (3, 3)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "source",
    [
        "a = np.array(range(10**9))",
        "a = torch.tensor(range(10**8))",
        "a = torch.tensor([range(10**7)])",
        "a = np.array(range(2**100))",
        "x = list(range(10**30))",
        "s = max(range(10**9))",
        "x = [i for i in range(10**9)]",
        "x = [i for i in range(300000) if i > 5]",
        "x = [[j for j in range(10**5)] for i in range(10**5)]",
    ],
)
def test_ranges_are_measured_before_they_are_walked(source: str) -> None:
    start = time.process_time()
    assert error_of(source).type == "limit"
    assert time.process_time() - start < 0.2


def test_small_ranges_still_convert() -> None:
    result = run("a = np.array(range(5))\nb = torch.tensor(range(3))\nc = [i * i for i in range(4)]")
    assert result.variables["a"].tolist() == [0, 1, 2, 3, 4]  # type: ignore[attr-defined]
    assert result.variables["b"].tolist() == [0, 1, 2]  # type: ignore[attr-defined]
    assert result.variables["c"] == [0, 1, 4, 9]


def test_with_refusal_names_every_accepted_manager() -> None:
    error = error_of("with torch.ones(1):\n    pass")
    assert "inference_mode" in error.to_dict("en")["message"]


def test_step_bound_loops_are_refused_before_they_grind() -> None:
    start = time.process_time()
    assert error_of("x = 0\nfor i in range(20000):\n    x = x + 1").code == "too_many_steps"
    assert time.process_time() - start < 0.05
    assert run("x = 0\nfor i in range(15000):\n    x = x + 1").variables["x"] == 15000


@pytest.mark.parametrize(
    "body",
    [
        "x = x + 1",
        "y = (w * v).sum()\nif y.item() > 0 and x:\n    x = x + 1\nz = [a for a in range(2)]",
        "b = v[i % 3] if i else -v[0]\nc = max(1, 2) + len(v[1:]) + (1 < 2 < 3)\nprint(f'{c}', v[0:2])",
    ],
)
def test_step_bound_never_exceeds_the_real_cost(body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Charging more than a loop really costs would refuse programs that fit."""
    from gradtrace.run import budget
    from gradtrace.run.steps import minimum_steps

    made: list[budget.Budget] = []
    original = budget.Budget.__post_init__

    def record(self: budget.Budget) -> None:
        original(self)
        made.append(self)

    monkeypatch.setattr(budget.Budget, "__post_init__", record)
    setup = "x = 0\nv = torch.ones(3)\nw = torch.ones(3)\n"
    steps = []
    for count in (10, 20):
        loop = f"for i in range({count}):\n" + "".join(f"    {line}\n" for line in body.splitlines())
        run(setup + loop)
        steps.append(made[-1].steps)
    tree = check(setup + loop).tree
    assert isinstance(tree.body[-1], ast.For)
    assert minimum_steps(tree.body[-1].body) <= (steps[1] - steps[0]) / 10
