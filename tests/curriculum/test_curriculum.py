"""Every curriculum example runs in the sandbox and gives the numbers the course notes give.

One case per example id. ``expect`` maps dotted paths into the run's variables to
values (tensors compared with ``allclose`` after ``.tolist()``, ``torch.Size`` as a
list, dtypes and devices as strings); ``expect_printed`` lists substrings of the
printed output; ``expect_error`` names the error an example must end with.
Examples with ``"device": "cuda"`` are skipped where no GPU is present.
Where the notes give a derivative, the gradient is also recomputed here with
plain torch (``torch.autograd.grad``), independently of the interpreter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from gradtrace.core import GradtraceError
from gradtrace.core.curriculum import examples

EXAMPLES = examples()
LANGS = ("en", "ko")
RTOL = 1e-4
ATOL = 1e-5


def _param(example: dict[str, Any]) -> Any:
    marks = []
    if example.get("device") == "cuda":
        marks.append(pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"))
    return pytest.param(example, id=example["id"], marks=marks)


def resolve(variables: dict[str, Any], path: str) -> Any:
    """``"x.grad"`` → ``variables["x"].grad``; a numeric part indexes (``"parts.0"``)."""
    head, *rest = path.split(".")
    assert head in variables, f"the program bound no variable {head!r} (bound: {sorted(variables)})"
    value = variables[head]
    for part in rest:
        value = value[int(part)] if part.isdigit() else getattr(value, part)
    return value


def plain(value: Any) -> Any:
    """Tensors, arrays, sizes, dtypes and devices as plain Python values."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    if isinstance(value, (torch.dtype, torch.device)):
        return str(value)
    if isinstance(value, (torch.Size, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, np.dtype):
        return str(value)
    return value


def same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return actual is expected or (actual == expected and type(actual) is type(expected))
    if isinstance(expected, (int, float)):
        return (
            isinstance(actual, (int, float))
            and not isinstance(actual, bool)
            and math.isclose(actual, expected, rel_tol=RTOL, abs_tol=ATOL)
        )
    raise AssertionError(f"unsupported expected value {expected!r}")


def _grad(fn: Callable[..., torch.Tensor], *points: float) -> list[float]:
    inputs = [torch.tensor(p, dtype=torch.float32, requires_grad=True) for p in points]
    grads = torch.autograd.grad(fn(*inputs).sum(), inputs)
    return [g.item() for g in grads]


# Independent recomputation with plain torch: example id -> {path: value}.
INDEPENDENT: dict[str, Callable[[], dict[str, Any]]] = {
    "autograd-poly": lambda: {"x.grad": _grad(lambda x: x**2 + 3 * x + 1, 2.0)},
    "autograd-chain-rule": lambda: {"x.grad": _grad(lambda x: 3 * x**2 + 1, 2.0)[0]},
    "autograd-cubic": lambda: {"x.grad": _grad(lambda x: x**3 + 2 * x**2 - 5 * x + 3, 2.0)},
    "autograd-scalar-w": lambda: {"w.grad": _grad(lambda w: 2 * w**2 + 5, 2.0)[0]},
    "autograd-two-params": lambda: dict(
        zip(("w.grad", "x.grad"), _grad(lambda w, x: (3 * w) ** 2 + (2 * x) ** 2, 4.0, 3.0), strict=True)
    ),
    "autograd-retain-grad": lambda: {"x.grad": _grad(lambda x: (3 * x) ** 2, 2.0)[0]},
    "autograd-accumulate-zero": lambda: {"first": _grad(lambda x: x**2 + 3 * x + 1, 2.0)},
    "tensor-operations": lambda: {
        "product": (torch.tensor([[1.0, 2], [3, 4]]) @ torch.tensor([[5.0, 6], [7, 8]])).tolist()
    },
    "tensor-broadcasting": lambda: {
        "c": (torch.tensor([[1], [2], [3]]) + torch.tensor([10, 20, 30])).tolist()
    },
}


def _wrap_grad(value: Any) -> Any:
    return [value] if isinstance(value, float) else value


def test_examples_are_well_formed() -> None:
    ids = [e["id"] for e in EXAMPLES]
    assert len(ids) == len(set(ids)), "duplicate example ids"
    assert 30 <= len(EXAMPLES) <= 45
    for example in EXAMPLES:
        for key in ("title", "note"):
            assert all(example[key].get(lang, "").strip() for lang in LANGS), (example["id"], key)
        assert example["device"] in ("cpu", "cuda"), example["id"]
        assert example["source"].strip(), example["id"]
        has_checks = example.get("expect") or example.get("expect_printed") or example.get("expect_error")
        assert has_checks, f"{example['id']} checks nothing"
        if example.get("expect_error"):
            assert not example.get("expect") and not example.get("expect_printed"), example["id"]
    assert {e["id"] for e in EXAMPLES} >= set(INDEPENDENT)


def test_course_numbers_are_asserted() -> None:
    by_id = {e["id"]: e for e in EXAMPLES}
    assert by_id["autograd-poly"]["expect"]["x.grad"] == [7.0]
    assert by_id["autograd-cubic"]["expect"]["x.grad"] == [15.0]
    assert by_id["autograd-two-params"]["expect"]["w.grad"] == 72.0
    assert by_id["autograd-two-params"]["expect"]["x.grad"] == 24.0
    assert by_id["autograd-scalar-w"]["expect"]["w.grad"] == 8.0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("example", [_param(e) for e in EXAMPLES])
def test_example(example: dict[str, Any]) -> None:
    from gradtrace.run import execute
    from gradtrace.sandbox import check

    device = example.get("device", "cpu")
    expected_error = example.get("expect_error")
    try:
        program = check(example["source"])
        result = execute(program, device=device, seed=0, output=example.get("output"))
    except GradtraceError as error:
        if not expected_error:
            raise AssertionError(f"{example['id']} failed: {error.to_dict('en')}") from error
        assert error.type == expected_error["type"], error.to_dict("en")
        if "line" in expected_error:
            assert error.span is not None and error.span.line == expected_error["line"], error.to_dict("en")
        for lang in LANGS:
            report = error.to_dict(lang)
            assert report["message"].strip(), (lang, report)
            assert (report["hint"] or "").strip(), f"no {lang} hint explains {error.code!r}"
        return
    assert not expected_error, f"{example['id']} ran, but should end with {expected_error}"

    for path, expected in example.get("expect", {}).items():
        actual = plain(resolve(result.variables, path))
        assert same(actual, expected), f"{path}: got {actual!r}, expected {expected!r}"
    for fragment in example.get("expect_printed", []):
        assert fragment in result.printed, f"{fragment!r} not in printed output:\n{result.printed}"
    if example.get("output"):
        assert result.output_name == example["output"]
    assert result.device.startswith(device)

    independent = INDEPENDENT.get(example["id"])
    if independent is not None:
        for path, expected in independent().items():
            actual = plain(resolve(result.variables, path))
            assert same(actual, _wrap_grad(expected) if isinstance(actual, list) else expected), (
                f"{path}: interpreter gave {actual!r}, plain torch gives {expected!r}"
            )
