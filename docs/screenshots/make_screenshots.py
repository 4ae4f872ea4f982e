"""Presenter-mode screenshots of the course examples at projector sizes, for the docs.

Starts a real ``gradtrace serve`` of the built frontend and drives Debian's Chromium:

    .venv/bin/python docs/screenshots/make_screenshots.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SIZES = [(1024, 768), (1280, 720), (1920, 1080)]
# Each example at a step of its backward pass, where values and gradients are both on screen.
EXAMPLES = {"autograd-chain-rule": 6, "autograd-cubic": 16, "nn-mlp-sgd": 12}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    port = free_port()
    env = {**os.environ, "GRADTRACE_STATIC_DIR": str(ROOT / "frontend" / "dist")}
    server = subprocess.Popen([sys.executable, "-m", "gradtrace", "serve", "--port", str(port)], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/api/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            for width, height in SIZES:
                page = browser.new_page(viewport={"width": width, "height": height}, reduced_motion="reduce")
                for example, step in EXAMPLES.items():
                    page.goto(f"{url}/?example={example}&present=1&step={step}")
                    page.wait_for_selector('body[data-status="ready"]', state="attached", timeout=60_000)
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(HERE / f"presenter-{example}-{width}x{height}.png"))
                page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
