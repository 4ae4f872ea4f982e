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

SCHEMA_VERSION: Literal[1] = 1

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
        description="gradient after backward, summed over all passes (a leaf: what .grad accumulated, "
        "ignoring zero_(); see BackwardPass.node_grads)",
    )
    span: SpanModel | None = None
    module: str | None = Field(None, description="module path that created it, e.g. layer1.0")
    detached: bool = Field(False, description="made by detach() or under no_grad: a cut")


class OpNode(_Model):
    id: str
    kind: Literal["op"] = "op"
    op: str = Field(description="autograd node class name, e.g. PowBackward0, AccumulateGrad")
    label: str = Field(description="readable name: pow, mul, matmul, accumulate")
    sequence_nr: int | None = Field(None, description="torch's creation number of the node, counted "
                                    "from the graph's first op (0): the order the ops ran")
    num_outputs: int = 1
    variable: str | None = Field(None, description="AccumulateGrad: the leaf tensor node id")
    saved: list[SavedValue] = Field(default_factory=list)
    grad_inputs: list[Summary | None] = Field(
        default_factory=list, description="gradients the node sent to each input (backward hook)"
    )
    grad_outputs: list[Summary | None] = Field(
        default_factory=list, description="gradients the node received for each output"
    )
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
        None, description="the gradient that flowed back along this edge, summed over all backward passes"
    )
    chain: ChainStep | None = Field(None, description="of the summed gradients (see BackwardPass.chain)")


class Note(_Model):
    code: str
    message: dict[str, str] = Field(description="language code -> text")


class BackwardPass(_Model):
    """One ``backward()`` call. With two or more passes, each carries its own gradients:
    the top-level ``Edge.grad``/``chain``, ``TensorNode.grad`` and ``OpNode.grad_*`` are sums
    over all passes, so animating one pass must read these instead. With a single pass
    they are left out (the top-level fields are that pass's)."""

    root: str = Field(description="tensor node id backward started from")
    order: list[str] = Field(description="op node ids in the order their hooks fired")
    span: SpanModel | None = None
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
    printed: str = ""
    notes: list[Note] = Field(default_factory=list)


def json_schema() -> dict[str, object]:
    return GraphModel.model_json_schema()
