"""Browser tests: a real ``gradtrace serve`` on a free port, driven by Debian's Chromium.

The suite never silently skips in CI: with ``CI`` set and no ``/usr/bin/chromium``
every browser test fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_helpers import ARTIFACTS, PageErrors, new_page

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_frontend_built() -> None:
    if (DIST / "index.html").is_file():
        return
    frontend = ROOT / "frontend"
    if not (frontend / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=frontend, check=True)
    subprocess.run(["node", "build.mjs"], cwd=frontend, check=True)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gradtrace serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gradtrace serve did not become healthy")


@contextmanager
def _serving(*flags: str, log_name: str = "server.log") -> Iterator[str]:
    """A real ``gradtrace serve`` of the built frontend on a free port, with ``flags``."""
    _ensure_frontend_built()
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / log_name).open("wb")
    env = {**os.environ, "GRADTRACE_STATIC_DIR": str(DIST)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradtrace", "serve", "--port", str(port), *flags],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def server(chromium_path: Path) -> Iterator[str]:
    """The base URL of a real ``gradtrace serve`` serving the built frontend."""
    with _serving() as url:
        yield url


@pytest.fixture(scope="module")
def strict_server(chromium_path: Path) -> Iterator[str]:
    """A server that rate-limits this machine too: one program, then a minute's wait."""
    flags = ("--workers", "1", "--rate-limit-localhost", "--rate-limit", "1", "--rate-burst", "1")
    with _serving(*flags, log_name="strict-server.log") as url:
        yield url


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def page(browser: Any, page_errors: PageErrors) -> Iterator[Any]:
    p = new_page(browser, page_errors)
    yield p
    p.context.close()


