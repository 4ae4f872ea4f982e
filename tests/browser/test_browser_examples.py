"""Every curriculum example opens from its link, runs with no console error and shows
its graph (or, for the examples that teach an error, shows the error)."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import PageErrors, curriculum, open_app, screenshot

EXAMPLES = curriculum()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_example_runs_and_shows_its_graph(server: str, page: Any, page_errors: PageErrors,
                                          example: dict[str, Any]) -> None:
    expects_error = bool(example.get("expect_error"))
    if expects_error:
        page_errors.allow(r"status of 400")
    status = open_app(page, f"{server}/?example={example['id']}")
    if expects_error:
        assert status == "error"
        assert page.locator("#error-box").is_visible()
    else:
        assert status == "ready", page.locator("#error-box").inner_text()
        assert page.locator(".graph-svg .node").count() > 0
        page.locator("#graph-view").focus()
        page.keyboard.press("End")
    screenshot(page, f"example-{example['id']}")
    assert page_errors.unexpected() == []
