"""The notebook view: the web app and one graph in a self-contained page, opened with no server.

The page is opened the two ways a user meets it: as a saved file (``file://``) and as the
``<iframe srcdoc>`` that ``Graph._repr_html_`` gives Jupyter, set into an empty page.
Either way no request may leave the browser and no console error may appear.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gradtrace
from gradtrace.export import find_frontend_dist, to_app_html, to_notebook_html
from gradtrace.pipeline import Graph

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from browser_helpers import READY, PageErrors, new_page, wait_until  # noqa: E402

POLY = "x = torch.tensor([2.0], requires_grad=True)\ny = x**2 + 3*x + 1"
# Schemes a self-contained page may still load from: itself and what it makes in memory.
LOCAL = re.compile(r"^(file|blob|data|about):")


@pytest.fixture(scope="module")
def graph() -> dict[str, Any]:
    return gradtrace.trace_source(POLY)


@pytest.fixture(scope="module")
def dist() -> Path:
    """The built web app; built here when the checkout has node_modules but no embed.js yet."""
    found = find_frontend_dist()
    if found is None and (ROOT / "frontend" / "node_modules").is_dir():
        subprocess.run(["node", "build.mjs"], cwd=ROOT / "frontend", check=True)
        found = find_frontend_dist()
    if found is None:
        pytest.skip("the web app is not built (cd frontend && npm ci && node build.mjs)")
    return found


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def requests_seen() -> list[str]:
    return []


@pytest.fixture
def page(browser: Any, page_errors: PageErrors, requests_seen: list[str]) -> Iterator[Any]:
    p = new_page(browser, page_errors, width=1000, height=700)
    p.on("request", lambda request: requests_seen.append(request.url))
    yield p
    p.context.close()


def _step_to_end_and_check_x_grad(frame: Any, keyboard: Any) -> None:
    frame.wait_for_selector(READY, state="attached", timeout=60_000)
    assert frame.evaluate("document.body.dataset.status") == "ready"
    end = int(frame.eval_on_selector("#scrubber", "el => Number(el.max)"))
    assert end >= 6
    frame.locator("#graph-view").focus()
    for _ in range(end):
        keyboard.press("ArrowRight")
    assert int(frame.eval_on_selector("#scrubber", "el => Number(el.value)")) == end
    x = frame.locator('.graph-svg .node.tensor:has(.t-title:text-is("x"))').first
    assert "grad-shown" in (x.get_attribute("class") or "")
    assert x.locator(".grad-block").text_content().strip() == "7"
    assert "x.grad = 7" in frame.locator("#narration").inner_text()


def _assert_server_parts_hidden(frame: Any) -> None:
    for selector in ("#editor", "#run-button", "#device-select", "#example-select", "#copy-link"):
        assert not frame.locator(selector).is_visible(), selector
    for selector in ("#graph-view", "#play", "#scrubber", "#lang-select", "#view-toggle", "#zoom-in"):
        assert frame.locator(selector).is_visible(), selector


def test_saved_file_opens_with_no_server_and_shows_x_grad_7(
    graph: dict[str, Any], dist: Path, tmp_path: Path, page: Any, page_errors: PageErrors,
    requests_seen: list[str],
) -> None:
    document = to_app_html(graph, dist=dist)
    assert document is not None
    path = tmp_path / "graph.html"
    path.write_text(document, encoding="utf-8")
    page.goto(path.as_uri())
    _step_to_end_and_check_x_grad(page, page.keyboard)
    _assert_server_parts_hidden(page)
    assert page.evaluate("document.body.dataset.layoutMs") is not None
    assert not page_errors.unexpected()
    assert [url for url in requests_seen if not LOCAL.match(url)] == []


def test_repr_html_iframe_srcdoc_works_with_no_server(
    graph: dict[str, Any], dist: Path, page: Any, page_errors: PageErrors, requests_seen: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRADTRACE_STATIC_DIR", str(dist))
    snippet = Graph(graph)._repr_html_()
    assert snippet.startswith("<iframe srcdoc=")
    page.set_content(f"<!doctype html><html><body><h1>notebook</h1>{snippet}</body></html>")
    frame = page.frame_locator("iframe")
    handle = page.wait_for_selector("iframe").content_frame()
    assert handle is not None
    _step_to_end_and_check_x_grad(handle, page.keyboard)
    assert frame.locator("#lang-select").is_visible()
    box = page.locator("iframe").bounding_box()
    assert box is not None and box["height"] >= 590
    # The language switch works offline too: the narration is re-rendered in Korean.
    handle.select_option("#lang-select", "ko")
    wait_until(handle, r"/[\uac00-\ud7a3]/.test(document.querySelector('#narration').textContent)")
    assert not page_errors.unexpected()
    assert [url for url in requests_seen if not LOCAL.match(url)] == []


def test_repr_html_references_no_external_url(graph: dict[str, Any], dist: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADTRACE_STATIC_DIR", str(dist))
    snippet = Graph(graph)._repr_html_()
    document = to_app_html(graph, dist=dist)
    assert document is not None
    for text in (snippet, document):
        assert not re.search(r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", text, re.IGNORECASE)
        assert not re.search(r"""url\(\s*["']?(?:https?:)?//""", text, re.IGNORECASE)
        assert "@import" not in text
        assert "sourceMappingURL" not in text
    # Whatever the page names, nothing in it is fetched: the policy allows no network at all.
    assert "default-src 'none'" in document
    assert re.findall(r"""\b(?:src|href)\s*=\s*"([^"]*)""", document) == ["#graph-view"]


def test_inline_json_and_scripts_cannot_end_their_element(dist: Path) -> None:
    note = {"message": {"en": "</script><script>alert(1)</script><!--"}}
    hostile = {"nodes": [], "edges": [], "notes": [note]}
    document = to_app_html(hostile, dist=dist)
    assert document is not None
    graph_json = document.split('id="gradtrace-graph">', 1)[1].split("</script>", 1)[0]
    assert "<" not in graph_json
    assert "\\u003c/script>" in graph_json
    # graph, options, two workers, the app: the note added no element.
    assert document.count("<script") == 5


def test_without_the_built_app_the_static_svg_is_shown(graph: dict[str, Any], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADTRACE_STATIC_DIR", str(tmp_path / "not-built"))
    assert find_frontend_dist() is None
    assert to_app_html(graph) is None
    for html in (to_notebook_html(graph), Graph(graph)._repr_html_(), to_notebook_html(graph, dist=tmp_path)):
        assert "<iframe" not in html
        assert "<svg" in html
        assert "node build.mjs" in html


def test_graph_to_html_saves_a_standalone_page(graph: dict[str, Any], dist: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADTRACE_STATIC_DIR", str(dist))
    path = tmp_path / "saved.html"
    page = Graph(graph).to_html(path, lang="ko")
    assert path.read_text("utf-8") == page
    assert page.startswith("<!doctype html>") and "data-embed" in page and '"lang":"ko"' in page
    assert os.path.getsize(path) > 100_000
