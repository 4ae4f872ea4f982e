"""Every curriculum example opens from its link, runs with no console error and shows
its graph (or, for the examples that teach an error, shows the error)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from browser_helpers import PageErrors, curriculum, open_app, screenshot

EXAMPLES = curriculum()


def needs_missing_gpu(server: str, example: dict[str, Any]) -> bool:
    """A CUDA example on a server without a GPU: the device error is the right answer."""
    if not str(example.get("device", "")).startswith("cuda"):
        return False
    with urllib.request.urlopen(f"{server}/api/devices") as response:
        devices = json.load(response)
    listed = devices["devices"] if isinstance(devices, dict) else devices
    return not any(str(d.get("id", d) if isinstance(d, dict) else d).startswith("cuda") for d in listed)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_example_runs_and_shows_its_graph(server: str, page: Any, page_errors: PageErrors,
                                          example: dict[str, Any]) -> None:
    expects_error = bool(example.get("expect_error")) or needs_missing_gpu(server, example)
    if expects_error:
        page_errors.allow(r"status of 400")
    status = open_app(page, f"{server}/?example={example['id']}")
    if expects_error:
        assert status == "error"
        assert page.locator("#error-box").is_visible()
    else:
        assert status == "ready", page.locator("#error-box").inner_text()
        nodes = page.locator(".graph-svg .node").count()
        if nodes == 0:  # no tensor requires grad: the server's note says so in place of a graph
            assert page.locator("#notes").is_visible()
            assert page.locator("#graph-empty").inner_text() == page.locator("#notes p").first.inner_text()
        page.locator("#graph-view").focus()
        page.keyboard.press("End")
    screenshot(page, f"example-{example['id']}")
    assert page_errors.unexpected() == []
