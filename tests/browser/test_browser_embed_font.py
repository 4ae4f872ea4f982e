"""The notebook view (gradtrace.export.app_html) carries the Korean web font itself:
its page may load no file, so the font comes as data: URLs inside the embed bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from browser_helpers import PageErrors, new_page

from gradtrace.export.app_html import to_app_html

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "poly_graph.json"
DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"


def test_notebook_view_shows_korean_in_the_web_font(browser: Any, server: str, tmp_path: Path) -> None:
    html = to_app_html(json.loads(FIXTURE.read_text("utf-8"))["graph"], lang="ko", dist=DIST)
    assert html is not None
    page_file = tmp_path / "graph.html"
    page_file.write_text(html, "utf-8")
    errors = PageErrors()
    page = new_page(browser, errors, width=1000, height=600)
    try:
        page.goto(page_file.as_uri())
        page.wait_for_selector("body[data-status=ready]", state="attached", timeout=60_000)
        page.locator("#step-forward").click()
        fonts = page.evaluate("""async () => {
          await document.fonts.ready;
          const faces = [...document.fonts].filter((f) => f.family.includes('Noto Sans KR'));
          await Promise.all(faces.map((f) => f.load().catch(() => null)));
          return {faces: faces.length, failed: faces.filter((f) => f.status === 'error').length,
                  hangul: document.fonts.check('20px "Noto Sans KR"', '기울기 순전파 역전파')};
        }""")
        assert fonts["faces"] >= 2 and fonts["failed"] == 0, fonts
        assert fonts["hangul"], fonts
        assert errors.unexpected() == []
    finally:
        page.context.close()
