"""The classroom projector: the whole graph readable at projector sizes, a clicker that
drives the lesson whatever has the focus, no stale run after an error, a first visit that
is already a lesson, and the dark editor, phone and share-link details."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from browser_helpers import PageErrors, new_page, open_app, screenshot, wait_until

GOOD = "import torch\nx = torch.tensor(3.0, requires_grad=True)\ny = x * x\ny.backward()\nprint('ran')\n"
BROKEN = "import torch\nx = torch.tensor(2.0, requires_grad=True)\ny = (x ** 2 +\n"

# Every node's box and its visible name label, in screen pixels.
NODES_ON_SCREEN = """() => {
  const svg = document.querySelector('.graph-svg').getBoundingClientRect();
  return [...document.querySelectorAll('.graph-svg .node')].map((node) => {
    const box = node.querySelector('.box').getBoundingClientRect();
    const shown = (el) => {
      const style = getComputedStyle(el);
      return style.display !== 'none' && style.visibility !== 'hidden';
    };
    const labels = [...node.querySelectorAll('.t-title, .t-op, .t-name')].filter(shown);
    const px = (el) => {
      const m = el.getScreenCTM();
      return parseFloat(getComputedStyle(el).fontSize) * Math.hypot(m.a, m.b);
    };
    const sizes = labels.map(px);
    const inside = box.left >= svg.left - 1 && box.right <= svg.right + 1
      && box.top >= svg.top - 1 && box.bottom <= svg.bottom + 1;
    return {id: node.dataset.id, inside, label: sizes.length ? Math.min(...sizes) : 0};
  });
}"""


CURRENT_LINE = "el => el.querySelector('li.current')?.dataset.line"


def values(page: Any) -> dict[str, str]:
    return {c: page.eval_on_selector(c, "el => el.value") for c in ("#speed-select", "#lang-select")}


def step(page: Any) -> int:
    return int(page.eval_on_selector("#scrubber", "el => Number(el.value)"))


def assert_whole_graph_readable(page: Any, min_px: float, where: str) -> None:
    nodes = page.evaluate(NODES_ON_SCREEN)
    assert nodes, where
    off = [n["id"] for n in nodes if not n["inside"]]
    small = [(n["id"], round(n["label"], 1)) for n in nodes if n["label"] < min_px - 0.05]
    assert off == [] and small == [], f"{where}: off screen {off}, labels under {min_px} px {small}"


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
def test_presenter_shows_the_whole_graph_readable(server: str, browser: Any, size: tuple[int, int]) -> None:
    width, height = size
    page = new_page(browser, PageErrors(), width=width, height=height, reduced_motion="reduce")
    try:
        open_app(page, f"{server}/?example=autograd-chain-rule&present=1")
        graph = page.eval_on_selector(".graph-svg", "el => el.getBoundingClientRect().height")
        assert graph >= 0.6 * height, graph
        last = int(page.eval_on_selector("#scrubber", "el => Number(el.max)"))
        for index in range(last + 1):
            assert step(page) == index
            assert_whole_graph_readable(page, 20, f"chain rule, step {index}")
            page.keyboard.press("PageDown")
        # The narration is never under the zoom buttons.
        narration = page.eval_on_selector("#narration", "el => el.getBoundingClientRect().toJSON()")
        zoom = page.eval_on_selector(".zoom-controls", "el => el.getBoundingClientRect().toJSON()")
        assert zoom["bottom"] <= narration["top"] or zoom["right"] <= narration["left"]
        assert page.eval_on_selector(".topbar", "el => el.getBoundingClientRect().height") < 0.12 * height
        open_app(page, f"{server}/?example=nn-mlp-sgd&present=1")
        assert_whole_graph_readable(page, 14, "MLP opening view")
        screenshot(page, f"classroom-mlp-{width}x{height}")
    finally:
        page.context.close()


def test_the_current_line_follows_the_steps_and_a_click_jumps(server: str, browser: Any) -> None:
    page = new_page(browser, PageErrors(), width=1280, height=720, reduced_motion="reduce")
    try:
        open_app(page, f"{server}/?example=autograd-chain-rule&present=1")
        lines = []
        for _ in range(4):
            page.keyboard.press("PageDown")
            lines.append(page.eval_on_selector("#code-strip", CURRENT_LINE))
        assert "4" in lines and "5" in lines, lines  # g = x ** 2, then y = 3 * g + 1
        page.locator('#code-strip li[data-line="4"]').click()
        assert page.eval_on_selector("#code-strip", CURRENT_LINE) == "4"
        first = step(page)
        page.keyboard.press("PageDown")
        assert step(page) == first + 1
    finally:
        page.context.close()


CONTROLS = ["#speed-select", "#lang-select", "#scrubber", "#play", "#step-back", "#copy-link", "#zoom-in",
            "#theme-toggle", "#download-menu summary"]


def test_a_clicker_steps_once_whatever_has_the_focus(server: str, browser: Any) -> None:
    page = new_page(browser, PageErrors(), width=1280, height=720, reduced_motion="reduce")
    try:
        open_app(page, f"{server}/?example=autograd-poly&present=1")
        before = values(page)
        for control in CONTROLS:
            page.locator(control).focus()
            start = step(page)
            page.keyboard.press("PageDown")
            assert step(page) == start + 1, control
            page.keyboard.press("PageUp")
            assert step(page) == start, control
            page.keyboard.press("PageDown")
        assert values(page) == before
        # Space plays and pauses; it does not press the focused button.
        page.locator("#theme-toggle").focus()
        page.keyboard.press("Space")
        assert page.locator("#play.playing").count() == 1
        page.keyboard.press("Space")
        assert page.locator("#play.playing").count() == 0
        assert page.get_attribute("#theme-toggle", "aria-pressed") == "false"
        page.select_option("#speed-select", "2")
        assert page.evaluate("document.activeElement.id") != "speed-select"
    finally:
        page.context.close()


def test_outside_presenter_lists_keep_their_keys_but_never_change_the_lesson(server: str, page: Any) -> None:
    open_app(page, f"{server}/?example=autograd-poly")
    runs: list[str] = []
    page.on("request", lambda r: "/api/graph" in r.url and runs.append(r.url))
    select = page.locator("#example-select")
    select.focus()
    page.keyboard.press("PageDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(500)
    assert runs == []
    assert page.evaluate("new URLSearchParams(location.search).get('example')") == "autograd-poly"
    page.keyboard.press("Enter")
    wait_until(page, "document.body.dataset.status === 'ready' && !location.search.includes('autograd-poly')")
    assert len(runs) == 1


# Each node's opacity as drawn: its own times every ancestor's.
OPACITIES = """() => [...document.querySelectorAll('.graph-svg .node')].map((el) => {
  let o = 1;
  for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
  return o;
})"""


def test_an_error_retires_the_previous_run_and_speaks_both_languages(server: str, page: Any,
                                                                      page_errors: PageErrors) -> None:
    page_errors.allow(r"status of 400")
    open_app(page, f"{server}/?code={quote(GOOD)}")
    assert "ran" in page.locator("#printed").inner_text()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type(BROKEN)
    page.keyboard.press("Control+Enter")
    wait_until(page, "document.body.dataset.status === 'error'")
    opacities = page.evaluate(OPACITIES)
    assert opacities and max(opacities) < 1, opacities
    assert page.locator("#stale-label").is_visible()
    assert not page.locator("#printed").is_visible()
    english = page.locator(".error-message").inner_text()
    requests: list[str] = []
    page.on("request", lambda r: "/api/" in r.url and requests.append(r.url))
    page.locator("#lang-select").select_option("ko")
    wait_until(page, "document.documentElement.lang === 'ko'")
    korean = page.locator(".error-message").inner_text()
    assert korean != english and any("\uac00" <= ch <= "\ud7a3" for ch in korean), korean
    assert requests == []


CONTRAST = """() => {
  const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const lum = (rgb) => {
    const [r, g, b] = rgb.match(/[\\d.]+/g).map(Number);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const bg = lum(getComputedStyle(document.querySelector('.cm-editor')).backgroundColor);
  const out = {};
  for (const el of document.querySelectorAll('.cm-content span')) {
    if (!el.textContent.trim()) continue;
    const fg = lum(getComputedStyle(el).color);
    out[el.textContent.trim()] = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  }
  return out;
}"""


def test_dark_editor_tokens_are_readable(server: str, page: Any) -> None:
    code = "import torch\nx = torch.tensor(2.0, requires_grad=True)  # a leaf\nok = True\ns = 'text'\n"
    open_app(page, f"{server}/?code={quote(code)}&theme=dark")
    ratios = page.evaluate(CONTRAST)
    for token in ("import", "True", "2.0", "'text'", "# a leaf"):
        assert token in ratios, ratios
    low = {token: round(r, 2) for token, r in ratios.items() if r < 4.5}
    assert low == {}


def test_phone_layout_has_no_sideways_scroll(server: str, browser: Any) -> None:
    page = new_page(browser, PageErrors(), width=390, height=844, is_mobile=True, has_touch=True)
    try:
        open_app(page, f"{server}/?example=autograd-poly")
        assert page.evaluate("document.documentElement.scrollWidth") == 390
        counter = page.eval_on_selector("#step-counter", "el => el.getBoundingClientRect().right")
        assert counter <= 390
    finally:
        page.context.close()


def test_details_panel_folds_under_the_editor_below_1440px(server: str, browser: Any) -> None:
    page = new_page(browser, PageErrors(), width=1366, height=768)
    try:
        open_app(page, f"{server}/?example=autograd-poly")
        box = "el => el.getBoundingClientRect().toJSON()"
        panel, editor, graph = (page.eval_on_selector(part, box)
                                for part in ("#side-panel", ".editor-pane", ".graph-pane"))
        assert panel["top"] >= editor["bottom"] - 1 and panel["right"] <= graph["left"] + 1
        assert graph["width"] >= 0.6 * 1366
    finally:
        page.context.close()


def test_first_visit_opens_a_lesson_already_run(server: str, browser: Any) -> None:
    page = new_page(browser, PageErrors(), locale="ko-KR")
    try:
        assert open_app(page, f"{server}/") == "ready"
        assert page.locator(".graph-svg .node").count() > 0
        assert int(page.eval_on_selector("#scrubber", "el => Number(el.max)")) > 0
        hint = page.locator("#step-hint")
        assert hint.is_visible() and "→" in hint.inner_text()
        assert page.evaluate("document.documentElement.lang") == "ko"
        page.locator("#graph-view").focus()
        page.keyboard.press("ArrowRight")
        assert not hint.is_visible()
    finally:
        page.context.close()


def test_user_zoom_is_kept_until_fit_and_shared_with_speed(server: str, browser: Any, page: Any) -> None:
    open_app(page, f"{server}/?example=autograd-chain-rule")
    page.locator("#graph-view").focus()
    page.keyboard.press("+")
    page.wait_for_timeout(50)
    zoomed = page.eval_on_selector(".viewport", "el => el.getAttribute('transform')")
    page.keyboard.press("PageDown")
    page.keyboard.press("PageDown")
    assert page.eval_on_selector(".viewport", "el => el.getAttribute('transform')") == zoomed
    page.select_option("#speed-select", "2")
    page.locator("#copy-link").click()
    link = wait_until(page, "document.getElementById('copy-link').dataset.link")
    assert "speed=2" in link and "zoom=" in link
    other = new_page(browser, PageErrors())
    try:
        open_app(other, link)
        assert other.eval_on_selector("#speed-select", "el => el.value") == "2"
        scale = other.eval_on_selector(".viewport", "el => el.getAttribute('transform')").split("scale(")[1]
        assert scale == zoomed.split("scale(")[1]
    finally:
        other.context.close()
    page.keyboard.press("0")
    page.wait_for_timeout(50)
    assert page.eval_on_selector(".viewport", "el => el.getAttribute('transform')") != zoomed


CHAIN = ("import torch\nx = torch.tensor(1.0, requires_grad=True)\ny = x\n"
         "for i in range(60):\n    y = y * 1.01 + 0.1\n")

# Nodes at least partly on screen, and the smallest name label each shows (0: none).
ON_SCREEN_LABELS = """() => {
  const view = document.querySelector('.graph-svg').getBoundingClientRect();
  const out = [];
  for (const node of document.querySelectorAll('.graph-svg .node')) {
    const b = node.getBoundingClientRect();
    if (b.right < view.left || b.left > view.right || b.bottom < view.top || b.top > view.bottom) continue;
    const labels = [...node.querySelectorAll('.t-title, .t-op, .t-name')]
      .filter((el) => getComputedStyle(el).display !== 'none');
    const px = labels.map((el) => {
      const m = el.getScreenCTM();
      return parseFloat(getComputedStyle(el).fontSize) * Math.hypot(m.a, m.b);
    });
    out.push(px.length ? Math.min(...px) : 0);
  }
  return out;
}"""


def test_labels_never_vanish_at_the_opening_zoom(server: str, page: Any) -> None:
    """A 240-node chain is too long to read whole: it opens on its first step, every label readable."""
    open_app(page, f"{server}/?code={quote(CHAIN)}")
    assert page.locator(".graph-svg .node").count() > 200
    labels = page.evaluate(ON_SCREEN_LABELS)
    assert labels and min(labels) >= 14 - 0.05, labels


def test_a_download_shows_every_detail_whatever_the_zoom(server: str, browser: Any) -> None:
    page = new_page(browser, PageErrors(), width=1280, height=720)
    try:
        open_app(page, f"{server}/?example=nn-mlp-sgd&present=1")
        assert "lod-names" in (page.get_attribute(".graph-svg", "class") or "")
        page.locator("#download-menu summary").click()
        with page.expect_download() as info:
            page.locator("[data-download=svg]").click()
        text = info.value.path().read_text("utf-8")
        opening = text[: text.index(">")]  # the <svg ...> tag: its classes and inline style
        assert "lod-names" not in opening and "--want" not in opening, opening
        assert 'class="value-block"' in text
    finally:
        page.context.close()
