"""Whatever arrives, the answer is never a 500."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FINE = {200, 400, 413, 422}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
PROGRAM = st.text(alphabet=st.sampled_from(list("xyz=+-*/()[]{}.,:'\"#\\\n 0123456789_")) | st.characters(),
                  max_size=120)
quick = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@quick
@given(source=PROGRAM, device=st.sampled_from(["cpu", "auto", "cuda:0", "gpu"]),
       output=st.none() | st.text(max_size=8))
def test_random_programs(api: Any, source: str, device: str, output: str | None) -> None:
    body = json.dumps({"source": source, "device": device, "output": output})
    response = api.post("/api/graph", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in FINE, response.text[:300]


@quick
@given(body=JSON, fmt=st.sampled_from(["json", "dot", "graphml", "node-link", "png", ""]))
def test_random_bodies(api: Any, body: object, fmt: str) -> None:
    response = api.post(f"/api/export?format={fmt}", content=json.dumps(body),
                        headers={"Content-Type": "application/json"})
    assert response.status_code in FINE, response.text[:300]
