"""How much of a corpus of learning programs the sandbox runs, and whether it runs them right.

The corpus (``tests/corpus/learning_programs.json``) holds short PyTorch programs
in the style of public teaching material: the official tutorials, torch docs,
d2l.ai, micrograd, course repos in English, Korean and Chinese. Each case goes
through ``trace_source`` (check, run and trace: the web API's whole path); a case
*runs* when that returns a graph, and is *refused* when it raises a
``GradtraceError``. Anything else is a crash: a bug in the sandbox.

For each case that runs, the same text also runs under plain CPython (the trusted
corpus, exec'd by this harness, not the sandbox) after the seeding the sandbox
does, and every top-level variable that is a tensor in both runs must have equal
values and equal ``.grad`` (``torch.allclose``, atol 1e-5, NaN equal to NaN).

Prints one line per case, the share that runs (overall and per kind) and the
refusal reasons, grouped by error code and the ``what``/``name``/``attr``/``module``
it names (a ``python_error``'s by the exception's kind and detail).

    .venv/bin/python bench/bench_corpus.py [--filter SUBSTRING] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import random
import sys
import time
import types
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.pipeline import trace_source
from gradtrace.run.devices import seed_rngs
from gradtrace.run.execute import execute
from gradtrace.sandbox import check

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus" / "learning_programs.json"
SEED = 0
ATOL = 1e-5
KINDS = ("basics", "autograd", "nn", "training", "custom_function", "data", "micrograd")
REASON_PARAMS = ("what", "name", "attr", "module", "kind", "detail")  # kind, detail: python_error


def load_cases(path: Path = CORPUS) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))["cases"]
    return cases


# ---------------------------------------------------------------- the plain run (the oracle)


def _noop(*args: object, **kwargs: object) -> None:
    return None


@contextlib.contextmanager
def _plotting_stub() -> Iterator[None]:
    """``import matplotlib.pyplot as plt`` plots into nothing when matplotlib is not installed.

    matplotlib is no dependency of the project; the sandbox ignores plots too.
    """
    if importlib.util.find_spec("matplotlib") is not None:
        yield
        return
    package = types.ModuleType("matplotlib")
    pyplot = types.ModuleType("matplotlib.pyplot")
    pyplot.__getattr__ = lambda name: _noop  # type: ignore[method-assign]
    package.pyplot = pyplot  # type: ignore[attr-defined]
    package.__path__ = []
    stubs = {"matplotlib": package, "matplotlib.pyplot": pyplot}
    sys.modules.update(stubs)
    try:
        yield
    finally:
        for name in stubs:
            sys.modules.pop(name, None)


def plain_run(code: str, seed: int = SEED) -> dict[str, Any]:
    """Run the trusted corpus text under plain CPython; its top-level variables.

    Seeds as the sandbox does before a program (``seed_rngs``: torch's default
    generator, and CUDA's where present); Python's ``random`` and numpy's global
    generator get the same seed, though the sandbox's may differ (cases that depend
    on them say ``"compare": false``). RNG state, grad mode and stdout are restored.
    """
    namespace: dict[str, Any] = {"__name__": "__main__"}
    grad_enabled = torch.is_grad_enabled()
    py_state, np_state = random.getstate(), np.random.get_state()
    with (
        torch.random.fork_rng(devices=[]),
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        _plotting_stub(),
    ):
        warnings.simplefilter("ignore")
        seed_rngs(seed)
        random.seed(seed)
        np.random.seed(seed)
        try:
            exec(compile(code, "<corpus>", "exec"), namespace)
        finally:
            torch.set_grad_enabled(grad_enabled)
            random.setstate(py_state)
            np.random.set_state(np_state)
    return namespace


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    a, b = a.detach().cpu(), b.detach().cpu()
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.is_floating_point() or a.is_complex():
        return torch.allclose(a, b, rtol=ATOL, atol=ATOL, equal_nan=True)
    return torch.equal(a, b)


def mismatches(sandboxed: dict[str, object], plain: dict[str, object]) -> tuple[int, list[str]]:
    """How many top-level tensors both runs have, and those whose values or ``.grad`` differ.

    A difference is named ``x`` (the values) or ``x.grad``.
    """
    compared, differ = 0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # .grad of a non-leaf warns
        for name in sorted(set(sandboxed) & set(plain)):
            a, b = sandboxed[name], plain[name]
            if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
                continue
            compared += 1
            if not _same(a, b):
                differ.append(name)
                continue
            ga, gb = a.grad, b.grad
            if (ga is None) != (gb is None) or (ga is not None and gb is not None and not _same(ga, gb)):
                differ.append(f"{name}.grad")
    return compared, differ


# ---------------------------------------------------------------- one case


@dataclass
class Outcome:
    name: str
    kind: str
    verdict: str  # "runs", "refused" or "crash"
    reason: str = ""  # refused: "type.code what=..."; crash: the exception type
    message: str = ""
    compared: bool = False
    tensors: int = 0  # top-level tensors in both runs
    differ: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def grads_equal(self) -> bool:
        return self.verdict == "runs" and self.compared and not self.differ

    def describe(self) -> str:
        if self.verdict == "refused":
            return f"refused: {self.reason}: {self.message[:80]}"
        if self.verdict == "crash":
            return f"CRASH: {self.reason}: {self.message[:80]}"
        if not self.compared:
            return "runs (values not compared)"
        if self.differ:
            return "runs, MISMATCH: " + ", ".join(self.differ)
        return f"runs, grads equal ({self.tensors} tensors)"


def reason_key(error: GradtraceError) -> str:
    """``type.code`` plus the parameters that say what was refused."""
    named = [f"{key}={error.params[key]}" for key in REASON_PARAMS if key in error.params]
    return " ".join([f"{error.type}.{error.code}", *named])


def run_case(case: dict[str, Any]) -> Outcome:
    """The sandbox's verdict on one case, and for a run, the comparison with the plain run."""
    outcome = Outcome(case["name"], case["kind"], "runs")
    started = time.perf_counter()
    try:
        trace_source(case["code"], device="cpu", output=case.get("output"), seed=SEED)
        result = execute(check(case["code"]), device="cpu", seed=SEED)
    except GradtraceError as error:
        outcome.verdict, outcome.reason = "refused", reason_key(error)
        outcome.message = error.message("en").replace("\n", " ")
    except Exception as exc:  # the sandbox must turn every failure into a GradtraceError
        outcome.verdict, outcome.reason, outcome.message = "crash", type(exc).__name__, str(exc)
    else:
        if case.get("compare", True):
            outcome.compared = True
            outcome.tensors, outcome.differ = mismatches(result.variables, plain_run(case["code"]))
    outcome.seconds = time.perf_counter() - started
    return outcome


# ---------------------------------------------------------------- the report


def share(outcomes: list[Outcome]) -> float:
    return sum(o.verdict == "runs" for o in outcomes) / len(outcomes) if outcomes else 0.0


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    kinds = [k for k in KINDS if any(o.kind == k for o in outcomes)]
    return {
        "cases": len(outcomes),
        "runs": sum(o.verdict == "runs" for o in outcomes),
        "share": share(outcomes),
        "grads_equal": sum(o.grads_equal for o in outcomes),
        "mismatches": sum(o.verdict == "runs" and bool(o.differ) for o in outcomes),
        "crashes": sum(o.verdict == "crash" for o in outcomes),
        "per_kind": {k: share([o for o in outcomes if o.kind == k]) for k in kinds},
        "refusals": Counter(o.reason for o in outcomes if o.verdict == "refused").most_common(),
    }


def print_report(outcomes: list[Outcome], seconds: float) -> None:
    width = max((len(o.name) for o in outcomes), default=4)
    for o in outcomes:
        print(f"{o.name:<{width}}  {o.kind:<15}  {o.describe()}")
    s = summary(outcomes)
    print()
    print(
        f"runs: {s['runs']}/{s['cases']} ({s['share']:.0%}); grads equal: {s['grads_equal']}; "
        f"mismatches: {s['mismatches']}; crashes: {s['crashes']}; {seconds:.1f} s"
    )
    for kind, kind_share in s["per_kind"].items():
        n = sum(o.kind == kind for o in outcomes)
        print(f"  {kind:<15} {kind_share:5.0%} of {n}")
    print("refusal reasons:")
    for reason, count in s["refusals"]:
        print(f"  {count:3d}  {reason}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filter", default="", help="only cases whose name contains this")
    parser.add_argument("--json", type=Path, help="also write every outcome and the summary here")
    args = parser.parse_args(argv)
    cases = [c for c in load_cases() if args.filter in c["name"]]
    started = time.perf_counter()
    outcomes = [run_case(case) for case in cases]
    seconds = time.perf_counter() - started
    print_report(outcomes, seconds)
    if args.json:
        payload = {"summary": summary(outcomes), "outcomes": [asdict(o) for o in outcomes]}
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return 1 if any(o.verdict == "crash" or o.differ for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
