"""Helpers for the browser tests: pages that record console errors, waiting, screenshots."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
READY = 'body[data-status="ready"], body[data-status="error"]'


class PageErrors:
    """Console errors and uncaught exceptions seen by a page."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(p.search(m) for p in self.allowed)]


def new_page(browser: Any, errors: PageErrors, *, width: int = 1440, height: int = 900,
             locale: str = "en-US", **options: Any) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale,
                                  accept_downloads=True, **options)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and errors.messages.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: errors.messages.append(f"pageerror: {e}"))
    page.set_default_timeout(30_000)
    return page


def open_app(page: Any, url: str) -> str:
    """Opens the app and waits until the program ran (or failed); returns the status."""
    page.goto(url)
    page.wait_for_selector(READY, state="attached", timeout=60_000)
    return str(page.evaluate("document.body.dataset.status"))


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path))
    return path


def curriculum() -> list[dict[str, Any]]:
    data = json.loads((ROOT / "backend" / "gradtrace" / "core" / "curriculum.json").read_text("utf-8"))
    return list(data["examples"])


def wait_until(page: Any, expression: str, timeout: float = 30.0) -> Any:
    """Polls a JS expression until truthy (page.wait_for_function needs eval, which our CSP forbids)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(100)
