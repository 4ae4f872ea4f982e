"""The request body of ``POST /api/graph`` and ``POST /api/export``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

EXAMPLE = "x = torch.tensor(2.0, requires_grad=True)\ny = x**2 + 3*x + 1\ny.backward()"
DEVICE_PATTERN = r"^(cpu|cuda|cuda:[0-9]{1,2}|auto)$"


class GraphRequest(BaseModel):
    source: str = Field(description="the program text", examples=[EXAMPLE])
    device: str = Field("cpu", pattern=DEVICE_PATTERN, description="cpu, cuda, cuda:N or auto")
    output: str | None = Field(None, max_length=200, description="variable to draw the graph of "
                               "(default: the last assigned tensor with a grad_fn)")
    backward: bool = Field(True, description="record the backward pass and gradients")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="RNG seed (default 0)")
    lang: Literal["en", "ko"] | None = Field(None, description="language of error messages "
                                             "(default: from Accept-Language, else en)")
