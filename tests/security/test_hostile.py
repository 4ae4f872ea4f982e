"""Hostile programs are refused with the right error type, quickly, before they allocate.

Each case in ``hostile.json`` is ``{"name", "source", "type", "line"?, "limits"?}``:

- ``source`` is the program text, or a list of parts for inputs too large to keep
  literally: a part is a string or ``[string, count]`` (the string repeated).
- ``type`` is the expected ``GradtraceError.type``, or a list of acceptable types
  where refusing an API outright (``not_allowed``) is as right as bounding it (``limit``);
  ``"ok"`` among them accepts a fast, small success (a graph reply under 1 MiB).
- ``line`` (optional) is the line the error must point at.
- ``limits`` (optional) lowers some limits for that case, to show each one is honoured.
- ``traced`` (optional, true) runs the case as the service does, tracer and graph included:
  for attacks on the tracer's own work, which must be charged while the program runs.

An error that only reports a failed allocation (``out_of_memory``, or torch's "can't
allocate memory") does not count: the refusal must come from the budget, before it.

For every case: ``check`` then ``execute`` must raise ``GradtraceError`` (nothing
else), the refusal must cost under a second of CPU, resident memory must not grow by
more than ``MAX_GROWTH`` while it runs (sampled in a background thread, and the
process peak), no file may appear, nothing may reach the real stdout, and the error
must render a message in both languages. Global torch state (grad mode, default
dtype, threads, RNG) must be as before, even when the refusal comes mid-block.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch
import worst
from address_space import address_space_limit

from gradtrace.core import DEFAULT_LIMITS, GradtraceError

HERE = Path(__file__).parent
CASES: list[dict[str, Any]] = json.loads((HERE / "hostile.json").read_text("utf-8"))["cases"]
TYPES = {"syntax", "not_allowed", "limit", "runtime", "ok"}  # ok: a fast, small success
MAX_REPLY_BYTES = 1 << 20
MAX_CPU_SECONDS = 1.0
MAX_WALL_SECONDS = 3.0  # CPU time is the cost; wall time also counts the neighbours on a shared machine
MAX_GROWTH = 200 * 2**20
SAFETY_NET = 3 * 2**30  # address space allowed above the current size, so a gap fails instead of OOM-killing
PAGE = os.sysconf("SC_PAGE_SIZE")
PAYLOAD_FILES = [
    Path(p)
    for p in (
        "/tmp/gradtrace_hostile.pt",
        "/tmp/gradtrace_hostile.bin",
        "/tmp/gradtrace_hostile.npy",
        "/tmp/gradtrace_hostile.pkl",
        "/tmp/x",
    )
]


def torch_state() -> tuple[object, ...]:
    """What a program must never change for the next one in the same worker."""
    return (
        torch.is_grad_enabled(),
        torch.get_default_dtype(),
        torch.get_num_threads(),
        torch.is_anomaly_enabled(),
        torch.random.get_rng_state().tolist(),
        sorted(vars(torch._tensor_str.PRINT_OPTS).items(), key=str),
    )


def build_source(source: str | list[Any]) -> str:
    if isinstance(source, str):
        return source
    return "".join(part if isinstance(part, str) else part[0] * part[1] for part in source)


def expected_types(case: dict[str, Any]) -> set[str]:
    kind = case["type"]
    return set(kind) if isinstance(kind, list) else {kind}


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def _vm_size() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * PAGE


@contextmanager
def peak_rss() -> Iterator[dict[str, int]]:
    """The highest resident size seen while the block runs, minus the size before it."""
    gc.collect()
    before = _rss()
    result = {"growth": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            result["growth"] = max(result["growth"], _rss() - before)
            stop.wait(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield result
    finally:
        stop.set()
        sampler.join()
        result["growth"] = max(result["growth"], _rss() - before)


@pytest.fixture(scope="module", autouse=True)
def address_space_net() -> Iterator[None]:
    with address_space_limit(SAFETY_NET):
        yield


WARM_UP = """
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
opt = optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(3, 4)
loss = F.mse_loss(model(x), torch.zeros(3, 1))
opt.zero_grad()
loss.backward()
opt.step()
a = np.zeros(3)
print(f"{loss.item():.3f}", math.sqrt(2), x.numpy().shape, [i for i in range(3)])
"""


@pytest.fixture(scope="module", autouse=True)
def warm_up() -> None:
    """Lazy imports and first-call set-up inside torch are not the cost of a refusal."""
    from gradtrace.run import execute
    from gradtrace.sandbox import check

    result = execute(check(WARM_UP), device="cpu", seed=0)
    assert "loss" in result.variables


@pytest.fixture(autouse=True)
def no_interactive_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the program reached the real breakpoint()")

    monkeypatch.setattr(sys, "breakpointhook", refuse)


def test_cases_are_well_formed() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    assert len(CASES) >= 170
    for case in CASES:
        assert expected_types(case) <= TYPES, case["name"]
        assert build_source(case["source"]), case["name"]
        DEFAULT_LIMITS.with_overrides(**case.get("limits", {}))


def test_payloads_of_the_large_cases_are_large() -> None:
    by_name = {case["name"]: build_source(case["source"]) for case in CASES}
    assert by_name["nesting_parens_10000"].count("(") == 10000
    assert len(by_name["size_1mb_program"]) >= 2**20 * 0.99
    assert by_name["size_100000_lines"].count("\n") == 100000


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_hostile(case: dict[str, Any], capfd: pytest.CaptureFixture[str]) -> None:
    from gradtrace.export import to_json_bytes
    from gradtrace.pipeline import trace_source
    from gradtrace.run import execute
    from gradtrace.sandbox import check

    source = build_source(case["source"])
    limits = DEFAULT_LIMITS.with_overrides(**case.get("limits", {}))
    for path in PAYLOAD_FILES:
        path.unlink(missing_ok=True)
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    state_before = torch_state()

    error: GradtraceError | None = None
    escaped: BaseException | None = None
    result = None
    reply = b""
    with peak_rss() as memory:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            if case.get("traced"):
                reply = to_json_bytes(trace_source(source, limits=limits))
            else:
                program = check(source, limits)
                result = execute(program, device="cpu", seed=0, limits=limits)
        except GradtraceError as exc:
            error = exc
        except (Exception, SystemExit) as exc:  # anything else escaping is the failure under test
            escaped = exc
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall

    maxrss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - maxrss_before
    state_after = torch_state()
    out, err = capfd.readouterr()
    written = [str(path) for path in PAYLOAD_FILES if path.exists()]
    for path in PAYLOAD_FILES:
        path.unlink(missing_ok=True)

    assert escaped is None, f"{type(escaped).__name__} escaped instead of GradtraceError: {escaped!r}"
    if error is None and "ok" in expected_types(case):
        assert len(reply) < MAX_REPLY_BYTES, f"a success, but its graph is {len(reply)} bytes"
    else:
        _check_refusal(case, error, result)
    worst.ROWS.append((case["name"], cpu, wall, max(memory["growth"], maxrss_growth)))
    assert cpu < MAX_CPU_SECONDS, f"refusal took {cpu:.2f} s of CPU"
    assert wall < MAX_WALL_SECONDS, f"refusal took {wall:.2f} s"
    assert memory["growth"] < MAX_GROWTH, f"resident memory grew by {memory['growth'] / 2**20:.0f} MiB"
    assert maxrss_growth < MAX_GROWTH, f"peak memory grew by {maxrss_growth / 2**20:.0f} MiB"
    assert not written, f"files written: {written}"
    assert state_after == state_before, "global torch state changed"
    assert "pwned" not in out + err, "the program reached a real process or stream"


def _check_refusal(case: dict[str, Any], error: GradtraceError | None, result: Any) -> None:
    assert error is not None, (
        f"ran to completion; variables={sorted(result.variables) if result else None}, "
        f"printed={result.printed[:200] if result else None!r}"
    )
    assert error.type in expected_types(case), f"got {error.type}: {error.to_dict('en')}"
    failed_allocation = error.code == "out_of_memory" or "allocate" in (error.detail or "")
    assert not failed_allocation, f"refused only after an allocation failed: {error.to_dict('en')}"
    if "line" in case:
        assert error.span is not None, f"no location: {error.to_dict('en')}"
        assert error.span.line == case["line"], f"line {error.span.line}: {error.to_dict('en')}"
    for lang in ("en", "ko"):
        report = error.to_dict(lang)
        assert report["type"] == error.type
        assert isinstance(report["message"], str) and report["message"].strip(), report


SPAN_CASES = [
    # (name, source, expected (line, col)): columns count characters, not UTF-8 bytes
    ("korean_before_builtin", "x = '가나다' + eval('1')", (1, 13)),
    ("korean_comment_line_above", "# 한글 주석\ny = '텐서'; z = open('f')", (2, 15)),
    ("emoji_before_attribute", "s = '🧠🧠'\nt = torch.ones(1).__class__", (2, 5)),
]


@pytest.mark.parametrize(("source", "where"), [pytest.param(s, w, id=n) for n, s, w in SPAN_CASES])
def test_error_columns_count_characters(source: str, where: tuple[int, int]) -> None:
    from gradtrace.sandbox import check

    with pytest.raises(GradtraceError) as caught:
        check(source)
    span = caught.value.span
    assert span is not None
    assert (span.line, span.col) == where, span
    line_text = source.splitlines()[span.line - 1]
    assert span.end_line > span.line or span.col < span.end_col <= len(line_text) + 1, span


def test_grad_mode_restored_after_refusal_inside_no_grad() -> None:
    from gradtrace.run import execute
    from gradtrace.sandbox import check

    source = "x = torch.ones(3, requires_grad=True)\nwith torch.no_grad():\n    y = torch.ones(10**5, 10**5)"
    program = check(source)
    with pytest.raises(GradtraceError) as caught:
        execute(program)
    assert caught.value.type == "limit"
    assert caught.value.span is not None and caught.value.span.line == 3
    assert torch.is_grad_enabled()
