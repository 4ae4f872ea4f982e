"""``graph.to_html(path)`` of a real model opened from ``file://`` (origin ``null``, no server).

A ResNet-34-layout network traced in ``gradtrace.capture`` gives a view of several hundred
nodes: past the size where the big-graph layout runs in a worker, which a ``file://``
page may not be able to start. The page must draw it anyway (a worker that starts, or the
layout on the page itself), open it folded into modules, and label it; never stay on the
empty "press Run" view.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from browser_helpers import READY, PageErrors, new_page, screenshot, wait_until

import gradtrace
from gradtrace.export import app_html

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tracer"))
from models import ResNet18  # the tracer tests' real models

DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"


@pytest.fixture(scope="module")
def resnet() -> gradtrace.Graph:
    torch.manual_seed(0)
    model = ResNet18(width=4, num_classes=5, layers=(3, 4, 6, 3))
    with gradtrace.capture() as cap:  # module paths: the view can fold into layer1, layer2...
        loss = torch.nn.functional.cross_entropy(model(torch.randn(2, 3, 32, 32)), torch.tensor([1, 2]))
    graph = cap.trace(loss, params=dict(model.named_parameters()))
    assert len(graph.data["nodes"]) > 300
    return graph


@pytest.fixture(scope="module")
def resnet_html(resnet: gradtrace.Graph, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("offline") / "resnet.html"
    resnet.to_html(path)
    assert "gradtrace-worker-fast" in path.read_text("utf-8")  # the interactive page, not the drawing
    return path


# How the page's workers behave: as the browser makes them, refused outright (a sandboxed
# frame, a strict policy), or started but never heard from.
WORKERS = {
    "real": "",
    "refused": "window.Worker = class { constructor() { throw new DOMException('no', 'SecurityError'); } };",
    "silent": "window.Worker = class { postMessage() {} terminate() {} };",
}
NODES = "[...document.querySelectorAll('#graph-view svg g[data-id]')]"
IDS = f"{NODES}.map((g) => g.dataset.id)"
LABELS = f"{NODES}.map((g) => (g.getAttribute('aria-label') || g.textContent || '').trim()).filter(Boolean)"


def _open(browser: Any, page_file: Path, workers: str) -> tuple[Any, PageErrors]:
    errors = PageErrors()
    page = new_page(browser, errors, width=1280, height=800)
    if WORKERS[workers]:
        page.add_init_script(WORKERS[workers])
    page.goto(page_file.as_uri())
    page.wait_for_selector(READY, state="attached", timeout=60_000)
    return page, errors


@pytest.mark.parametrize("workers", list(WORKERS))
def test_a_big_model_saved_as_html_draws_from_file(browser: Any, resnet_html: Path, workers: str) -> None:
    assert app_html.find_frontend_dist() is not None
    page, errors = _open(browser, resnet_html, workers)
    try:
        status = page.evaluate("document.body.dataset.status")
        screenshot(page, f"offline_resnet_{workers}")
        assert status == "ready", page.evaluate("document.body.innerText.slice(0, 500)")
        wait_until(page, f"{IDS}.some((id) => id.startsWith('module:'))")
        ids, labels = page.evaluate(IDS), page.evaluate(LABELS)
        assert {"module:layer1", "module:layer4", "module:fc"} <= set(ids), ids  # opens folded
        graph_box = page.locator("#graph-view").bounding_box()
        assert graph_box["width"] >= 0.6 * 1280 and graph_box["height"] >= 0.5 * 800, graph_box
        assert len(labels) == len(ids) and any("layer3" in label for label in labels), labels

        page.locator('g[data-id="module:layer1"]').click()  # opens one level, the rest stays folded
        wait_until(page, f"{IDS}.some((id) => id.startsWith('module:layer1.'))", 30)
        opened = page.evaluate(IDS)
        assert "module:layer1" not in opened and {"module:layer2", "module:fc"} <= set(opened), opened

        page.locator("#collapse-toggle").click()  # unfolded: hundreds of nodes, the big-graph layout
        wait_until(page, f"{IDS}.length > 300 && !{IDS}.some((id) => id.startsWith('module:'))", 30)
        assert len(page.evaluate(LABELS)) > 300
        assert page.evaluate("document.body.dataset.status") == "ready"
        assert errors.unexpected() == []
    finally:
        page.context.close()


def test_a_saved_notebook_shows_a_big_model_in_its_iframe(
    browser: Any, resnet: gradtrace.Graph, tmp_path: Path
) -> None:
    """A notebook exported to HTML and opened from disk: the view's iframe inherits origin null."""
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<!doctype html><html><body><h1>notebook</h1>{resnet._repr_html_()}</body></html>")
    errors = PageErrors()
    page = new_page(browser, errors, width=1280, height=900)
    try:
        page.goto(notebook.as_uri())
        frame = page.wait_for_selector("iframe").content_frame()
        assert frame is not None
        frame.wait_for_selector(READY, state="attached", timeout=60_000)
        assert frame.evaluate("document.body.dataset.status") == "ready"
        frame.locator("#collapse-toggle").click()
        wait_until(frame, f"{IDS}.length > 300", 30)
        assert len(frame.evaluate(LABELS)) > 300
        assert errors.unexpected() == []
    finally:
        page.context.close()
