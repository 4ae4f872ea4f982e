"""The graph JSON as typed dicts: what the tracer builds and ``gradtrace.schema`` validates.

Below the tracer so that both can use them: the tracer fills plain dicts (50,000
pydantic models per request would cost more than the trace), typed by these; the
schema's pydantic models describe the same keys, and ``tests/core`` checks that the
two agree key for key. Keys the tracer leaves out when they hold the schema's
default are optional here (``NotRequired``).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

SCHEMA_VERSION: Literal[1] = 1

Number = float | int | bool | str | None  # NaN and ±Inf travel as "NaN", "Infinity", "-Infinity"


class SpanDict(TypedDict):
    line: int
    col: int
    end_line: int
    end_col: int


class StatsDict(TypedDict):
    min: Number
    max: Number
    mean: Number
    std: Number
    nan: NotRequired[int]
    inf: NotRequired[int]
    sample: NotRequired[int | None]


class GridDict(TypedDict):
    rows: int
    cols: int
    data: list[list[Number]]


class SummaryDict(TypedDict):
    shape: list[int]
    dtype: str
    numel: int
    data: NotRequired[Any]
    head: NotRequired[list[Number]]
    stats: NotRequired[StatsDict]
    grid: NotRequired[GridDict]


class SavedValueDict(TypedDict):
    name: str
    summary: NotRequired[SummaryDict | None]
    value: NotRequired[Any]
    value_of: NotRequired[str]


class ChainStepDict(TypedDict):
    upstream: Number
    local: Number
    product: Number


class TensorNodeDict(TypedDict):
    id: str
    kind: Literal["tensor"]
    name: NotRequired[str | None]
    role: Literal["leaf", "param", "constant", "intermediate", "output"]
    shape: list[int]
    dtype: str
    device: str
    requires_grad: bool
    is_leaf: bool
    grad_fn: NotRequired[str | None]
    output_nr: NotRequired[int]
    value: SummaryDict | None
    grad: NotRequired[SummaryDict | None]
    span: NotRequired[SpanDict | None]
    module: NotRequired[str | None]
    detached: NotRequired[bool]


class OpNodeDict(TypedDict):
    id: str
    kind: Literal["op"]
    op: str
    label: str
    sequence_nr: NotRequired[int | None]
    num_outputs: NotRequired[int]
    variable: NotRequired[str | None]
    saved: NotRequired[list[SavedValueDict]]
    span: NotRequired[SpanDict | None]
    module: NotRequired[str | None]


class EdgeDict(TypedDict):
    id: str
    source: str
    target: str
    kind: Literal["input", "output", "cut"]
    slot: NotRequired[int]
    grad: NotRequired[SummaryDict | None]
    chain: NotRequired[ChainStepDict | None]


class NoteDict(TypedDict):
    code: str
    message: dict[str, str]


class PassLeafDict(TypedDict):
    node: str
    value: SummaryDict | None
    grad: NotRequired[SummaryDict | None]
    grad_after: NotRequired[SummaryDict | None]


class BackwardPassDict(TypedDict):
    root: str
    order: list[str]
    span: NotRequired[SpanDict | None]
    index: NotRequired[int | None]
    call: NotRequired[Literal["backward", "grad"]]
    automatic: NotRequired[bool]
    nodes: NotRequired[list[str]]
    leaves: NotRequired[list[PassLeafDict]]
    edge_grads: NotRequired[dict[str, SummaryDict]]
    chain: NotRequired[dict[str, ChainStepDict]]
    node_grads: NotRequired[dict[str, SummaryDict]]


class UpdateDetailDict(TypedDict, total=False):
    optimizer: str | None
    lr: float | None
    grad: SummaryDict | None
    expr: str | None
    exp_avg: SummaryDict | None
    exp_avg_sq: SummaryDict | None
    step: int | None
    lr_before: float | None
    lr_after: float | None


class UpdateDict(TypedDict):
    kind: Literal["optimizer_step", "inplace", "zero_grad", "scheduler_step"]
    node: str | None
    before: NotRequired[SummaryDict | None]
    after: NotRequired[SummaryDict | None]
    after_pass: NotRequired[int | None]
    span: NotRequired[SpanDict | None]
    detail: NotRequired[UpdateDetailDict | None]


# "pass" is a Python keyword: the functional form names it.
IterationDict = TypedDict("IterationDict", {"pass": int, "loss": Number, "params": dict[str, Number]})


class GraphDict(TypedDict):
    schema_version: Literal[1]
    device: str
    output: NotRequired[str | None]
    nodes: list[TensorNodeDict | OpNodeDict]
    edges: list[EdgeDict]
    variables: dict[str, str]
    forward_order: list[str]
    backward_order: list[str]
    backward_passes: NotRequired[list[BackwardPassDict]]
    per_pass: NotRequired[bool]
    pass_count: NotRequired[int]
    updates: NotRequired[list[UpdateDict]]
    iterations: NotRequired[list[IterationDict]]
    printed: NotRequired[str]
    notes: NotRequired[list[NoteDict]]
