"""Every hostile program of the sandbox suite, sent over HTTP, is a 400 of the right type."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

CORPUS = Path(__file__).resolve().parents[1] / "security" / "hostile.json"


def _build(source: str | list[Any]) -> str:
    if isinstance(source, str):
        return source
    return "".join(part if isinstance(part, str) else part[0] * part[1] for part in source)


def _cases() -> list[dict[str, Any]]:
    if not CORPUS.exists():
        pytest.skip("tests/security/hostile.json is not there")
    cases: list[dict[str, Any]] = json.loads(CORPUS.read_text("utf-8"))["cases"]
    # Cases with "limits" lower a limit to show it is honoured; the server runs the defaults.
    return [case for case in cases if "limits" not in case]


def test_every_hostile_program_is_a_400(api: Any) -> None:
    cases = _cases()
    cap = api.app.state.settings.max_body_kb * 1024
    bodies = [json.dumps({"source": _build(case["source"])}).encode("ascii") for case in cases]
    gate = asyncio.Semaphore(16)  # under the queue cap: this checks answers, not overload

    async def send(body: bytes) -> httpx.Response:
        async with gate:
            return await api.client.post("/api/graph", content=body,
                                         headers={"Content-Type": "application/json"})

    responses = api.gather(send(body) for body in bodies)
    wrong = []
    for case, body, response in zip(cases, bodies, responses, strict=True):
        expected = case["type"] if isinstance(case["type"], list) else [case["type"]]
        if len(body) > cap:
            ok = response.status_code == 413
        elif response.status_code == 200:
            ok = "ok" in expected and len(response.content) < 1 << 20  # a fast, small success
        else:
            ok = response.status_code == 400 and response.json()["error"]["type"] in expected
        if not ok:
            wrong.append((case["name"], response.status_code, response.text[:200]))
    assert not wrong, wrong
    assert api.get("/api/health").json()["status"] == "ok"
