"""Every resource limit in one place, so a classroom server can tune them together.

Defaults fit a shared 2-core server: a student's program stays far below them,
a hostile one hits them before it allocates or computes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Limits:
    source_chars: int = 20_000  # program text
    source_lines: int = 500
    ast_nodes: int = 20_000
    nesting_depth: int = 60  # nested expressions/blocks
    steps: int = 100_000  # interpreter steps: every evaluated node, loop iteration, comprehension item
    loop_iterations: int = 50_000  # all loop iterations together
    tensor_elements: int = 4_000_000  # one tensor
    total_elements: int = 40_000_000  # all tensors a program creates, together
    flops: int = 2_000_000_000  # estimated arithmetic of heavy ops (matmul, conv, linalg), together
    int_bits: int = 256  # Python ints, e.g. 2**10**10
    sequence_length: int = 100_000  # strings and lists (repetition, ranges)
    print_chars: int = 100_000  # captured output
    wall_seconds: float = 5.0  # one program, enforced by the worker
    memory_mb: int = 2048  # address-space ceiling for a worker, on top of torch's baseline
    graph_nodes: int = 60_000  # autograd nodes the tracer walks
    graph_elements: int = 8_000_000  # elements of the values the tracer keeps (each gets a gradient too)
    call_depth: int = 40  # program function calls inside one another (recursion)

    def with_overrides(self, **changes: Any) -> Limits:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown limits: {sorted(unknown)}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_LIMITS = Limits()
