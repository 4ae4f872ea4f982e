"""Session fixtures: one headless Chromium for every test that needs a browser, and
``run_async`` for tests that drive asyncio code beside it.

Playwright's sync API allows one running instance per process, so the browser
tests and the notebook-view tests share this session fixture. In CI a missing
``/usr/bin/chromium`` fails those tests instead of skipping them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def run_async() -> Callable[[Coroutine[Any, Any, T]], T]:
    """``asyncio.run`` on a thread of its own: the session's Playwright keeps an event
    loop running on the main thread, where ``asyncio.run`` refuses to start."""

    def run(coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, coro).result(timeout)

    return run
