"""A student who sends too much is told so in the UI language, by a real rate-limited server."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from browser_helpers import PageErrors, open_app

POLY = "x = torch.tensor(2.0, requires_grad=True)\ny = x ** 2 + 3 * x + 1\n"


def test_too_many_programs_from_this_computer_is_explained_in_korean(
    strict_server: str, page: Any, page_errors: PageErrors
) -> None:
    page_errors.allow(r"status of 429")
    assert open_app(page, f"{strict_server}/?code={quote(POLY)}&lang=ko") == "ready"  # the one allowed
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nz = y * 2\n")
    page.keyboard.press("Control+Enter")
    message = page.locator(".error-message")
    message.wait_for(state="visible", timeout=30_000)
    text = message.inner_text()
    assert "이 컴퓨터" in text and "초 후에" in text, text
