"""The graph JSON: one pydantic model per object, the single source of truth.

The API publishes ``GraphModel.model_json_schema()`` at ``/api/schema``; the
tracer builds plain dicts with exactly these keys (validating 50,000 nodes
through pydantic on every request would cost more than tracing them), and the
test suite validates every graph it makes against these models.

Direction of edges is the direction data flows forward:
``tensor --input--> op --output--> tensor``. Every tensor that requires grad has
a producer op: its ``grad_fn``, or for a leaf the ``AccumulateGrad`` node that
receives its gradient. Gradients flow the other way along the same edges.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

from gradtrace.core.graph_types import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "GraphModel", "json_schema"]

# JSON has no NaN or infinity: these strings stand for them inside numbers lists.
Number = float | int | bool | Literal["NaN", "Infinity", "-Infinity"] | None
Nested = TypeAliasType("Nested", "Number | list[Nested]")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpanModel(_Model):
    """Where in the user's text: 1-based line and character column, end exclusive."""

    line: int
    col: int
    end_line: int
    end_col: int


class Stats(_Model):
    min: Number
    max: Number
    mean: Number
    std: Number
    nan: int = 0
    inf: int = 0
    sample: int | None = Field(None, description="taken from an evenly strided sample of this many elements")


class Grid(_Model):
    """A downsampled 2-D view (mean of each block) for drawing a heatmap."""

    rows: int
    cols: int
    data: list[list[Number]]


class Summary(_Model):
    """A tensor's values kept small: all of them up to a cap, else head + statistics."""

    shape: list[int]
    dtype: str
    numel: int
    data: Nested | None = Field(None, description="full nested list when numel <= cap")
    head: list[Number] | None = Field(None, description="first elements, flattened, when over the cap")
    stats: Stats | None = None
    grid: Grid | None = None


class SavedValue(_Model):
    """A saved tensor or argument of an autograd node (torchviz's show_saved)."""

    name: str
    summary: Summary | None = None
    value: Number | list[Number] | str | None = None
    value_of: str | None = Field(
        None,
        description="in the JSON, instead of summary: the tensor node whose value summary this is "
        "(the saved tensor reads the same; gradtrace.export.wire)",
    )


class ChainStep(_Model):
    """The chain rule on one edge, for scalar paths: upstream × local = product."""

    upstream: Number
    local: Number
    product: Number


class TensorNode(_Model):
    id: str
    kind: Literal["tensor"] = "tensor"
    name: str | None = Field(None, description="the user's variable name, if any")
    role: Literal["leaf", "param", "constant", "intermediate", "output"]
    shape: list[int]
    dtype: str
    device: str
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None = Field(None, description="op node id of the tensor's producer")
    output_nr: int = 0
    value: Summary | None
    grad: Summary | None = Field(
        None,
        description="a leaf: what torch's .grad held right after the last pass that reached it "
        "(accumulation sums, zero_()/zero_grad() reset; what print(x.grad) showed then); "
        "an intermediate: its gradient summed over the passes (see BackwardPass.node_grads)",
    )
    span: SpanModel | None = None
    module: str | None = Field(None, description="module path that created it, e.g. layer1.0")
    detached: bool = Field(False, description="made by detach() or under no_grad: a cut")


class OpNode(_Model):
    id: str
    kind: Literal["op"] = "op"
    op: str = Field(description="autograd node class name, e.g. PowBackward0, AccumulateGrad")
    label: str = Field(description="readable name: pow, mul, matmul, accumulate")
    sequence_nr: int | None = Field(
        None,
        description="torch's creation number of the node, counted "
        "from the graph's first op (0): the order the ops ran",
    )
    num_outputs: int = 1
    variable: str | None = Field(None, description="AccumulateGrad: the leaf tensor node id")
    saved: list[SavedValue] = Field(default_factory=list)
    span: SpanModel | None = None
    module: str | None = None


class Edge(_Model):
    id: str
    source: str
    target: str
    kind: Literal["input", "output", "cut"] = Field(
        description="input: tensor feeds op at slot; output: op makes tensor at slot; "
        "cut: a detach/no_grad link that carries no gradient"
    )
    slot: int = Field(0, description="input_nr for input edges, output_nr for output edges")
    grad: Summary | None = Field(
        None,
        description="the gradient that flowed back along this edge, summed over all backward passes; "
        "left out of the JSON when it equals the source tensor's grad (gradtrace.export.wire)",
    )
    chain: ChainStep | None = Field(None, description="of the summed gradients (see BackwardPass.chain)")


class Note(_Model):
    code: str
    message: dict[str, str] = Field(description="language code -> text")


class PassLeaf(_Model):
    """One leaf a backward pass reached."""

    node: str = Field(description="the leaf's tensor node id")
    value: Summary | None = Field(
        None,
        description="the value this pass's graph read (by tensor version: in-place updates made after "
        "the forward, e.g. by an optimizer, do not leak in); in the JSON, value, grad and grad_after are "
        "left out when they equal the node's value and grad (gradtrace.export.wire)",
    )
    grad: Summary | None = Field(None, description="the gradient this pass delivered to the leaf")
    grad_after: Summary | None = Field(
        None,
        description="what the leaf's .grad held right after this pass (None: torch.autograd.grad, "
        "which does not accumulate, on a leaf whose .grad was empty)",
    )


class BackwardPass(_Model):
    """One ``backward()`` or ``torch.autograd.grad`` call: a pass, with its own graph.

    With ``GraphModel.per_pass`` true, each pass carries its own gradients (``edge_grads``,
    ``node_grads``, ``chain``) and animating one pass must read these: the top-level
    ``Edge.grad``/``chain`` and ``OpNode.grad_*`` are sums over all passes shown. With
    ``per_pass`` false (a single pass) they are left out: the top-level fields are that pass's.
    """

    root: str = Field(description="tensor node id backward started from")
    order: list[str] = Field(description="op node ids in the order their hooks fired")
    span: SpanModel | None = None
    index: int | None = Field(
        None,
        description="the pass's number in program order among all backward()/autograd.grad calls "
        "(0-based; see GraphModel.pass_count). Long loops keep full detail only for the first few, "
        "last few and a sampled subset between: gaps in index are the passes left out",
    )
    call: Literal["backward", "grad"] = Field(
        "backward", description="backward: .grad accumulates; grad: torch.autograd.grad, .grad untouched"
    )
    automatic: bool = Field(
        False,
        description="run by gradtrace after the program ended, from the output the program never "
        "back-propagated: the only pass of a program without backward(), or the last one after the "
        "program's own passes (then the note output_backward says so)",
    )
    nodes: list[str] = Field(
        default_factory=list,
        description="ids of the tensor and op nodes of this pass's graph (one iteration); "
        "left out when per_pass is false (one pass: its graph is the whole graph)",
    )
    leaves: list[PassLeaf] = Field(
        default_factory=list,
        description="every leaf this pass reached; left out of a single pass over a compact graph "
        "(a note says compact), where the leaf nodes' value and grad say the same",
    )
    edge_grads: dict[str, Summary] = Field(
        default_factory=dict, description="edge id -> the gradient that flowed along it in this pass"
    )
    chain: dict[str, ChainStep] = Field(
        default_factory=dict, description="edge id -> this pass's chain step (scalar paths, small graphs)"
    )
    node_grads: dict[str, Summary] = Field(
        default_factory=dict,
        description="tensor node id -> its gradient after this pass: a leaf's .grad as it accumulated "
        "(what the program saw right after this backward()), else the gradient it received in this pass",
    )


class UpdateDetail(_Model):
    """What an update computed with; every field optional."""

    optimizer: str | None = Field(None, description="optimizer class, e.g. SGD, Adam")
    lr: float | None = None
    grad: Summary | None = Field(None, description="the .grad the step read")
    expr: str | None = Field(None, description="the arithmetic, for scalars: w ← 0.6 − 0.1 × (−4.8) = 1.08")
    exp_avg: Summary | None = Field(None, description="Adam's first moment after the step")
    exp_avg_sq: Summary | None = Field(None, description="Adam's second moment after the step")
    step: int | None = Field(None, description="the optimizer's step count for this parameter")
    lr_before: float | None = Field(None, description="scheduler_step: the learning rate before")
    lr_after: float | None = Field(None, description="scheduler_step: the learning rate after")


class Update(_Model):
    """A change the program made to a leaf (or its .grad, or a learning rate), in program order."""

    kind: Literal["optimizer_step", "inplace", "zero_grad", "scheduler_step"] = Field(
        description="optimizer_step: optimizer.step() moved the leaf; inplace: the program wrote it "
        "(w -= lr * w.grad, w.data -= ..., p.add_(...); also w = w - lr * w.grad under no_grad, which "
        "binds the name to a new leaf: node is the old one); zero_grad: its .grad was zeroed or set to None "
        "(x.grad.zero_(), opt.zero_grad(), model.zero_grad()); scheduler_step: a learning-rate scheduler"
    )
    node: str | None = Field(description="the leaf's tensor node id; null for scheduler_step")
    before: Summary | None = Field(None, description="the leaf's value before (zero_grad: its .grad)")
    after: Summary | None = Field(None, description="... and after (zero_grad: null when set to None)")
    after_pass: int | None = Field(
        None, description="BackwardPass.index of the last pass run before this update (null: none yet)"
    )
    span: SpanModel | None = Field(None, description="the statement that made the update")
    detail: UpdateDetail | None = None


class Iteration(_Model):
    """One pass as a point of the loss plot; every pass has one, shown in detail or not."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    pass_: int = Field(alias="pass", description="BackwardPass.index")
    loss: Number = Field(None, description="the root's value when it is a single number, else null")
    params: dict[str, Number] = Field(
        default_factory=dict,
        description="leaf label -> value read by this pass, for single-number leaves (none when a pass "
        "reaches more than 16 of them)",
    )


class GraphModel(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    device: str
    output: str | None = Field(None, description="tensor node id of the program's output")
    nodes: list[Annotated[TensorNode | OpNode, Field(discriminator="kind")]]
    edges: list[Edge]
    variables: dict[str, str] = Field(description="user variable name -> tensor node id")
    forward_order: list[str] = Field(description="op node ids in the order the ops ran")
    backward_order: list[str] = Field(description="op node ids in the order torch ran them")
    backward_passes: list[BackwardPass] = Field(default_factory=list)
    per_pass: bool = Field(
        False,
        description="decided here, once: true when the backward passes carry their own gradients "
        "(BackwardPass.edge_grads/node_grads/chain) and a view of one pass must read those; false when "
        "the top-level gradients are the only pass's",
    )
    pass_count: int = Field(
        0,
        description="every pass the run made, the automatic one included; more than "
        "len(backward_passes) when a long loop was sampled (a note says so)",
    )
    updates: list[Update] = Field(default_factory=list, description="changes to leaves, in program order")
    iterations: list[Iteration] = Field(
        default_factory=list, description="every pass (sampled out or not), in order: for the loss plot"
    )
    printed: str = ""
    notes: list[Note] = Field(default_factory=list)


def json_schema() -> dict[str, object]:
    return GraphModel.model_json_schema()
