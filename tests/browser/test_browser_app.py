"""The web app against a real server: stepping, errors at their line, share links,
language switch, presenter mode font sizes, keyboard, accessible names, downloads."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from browser_helpers import PageErrors, new_page, open_app, screenshot, wait_until

POLY = "import torch\nx = torch.tensor(2.0, requires_grad=True)\ny = x ** 2 + 3 * x + 1\ny.backward()\n"
BROKEN = "import torch\nx = torch.tensor(2.0, requires_grad=True)\ny = (x ** 2 +\nz = 1\n"


def code_url(server: str, code: str, **params: str) -> str:
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    return f"{server}/?code={quote(code)}{extra}"


def last_step(page: Any) -> int:
    return int(page.eval_on_selector("#scrubber", "el => Number(el.max)"))


def current_step(page: Any) -> int:
    return int(page.eval_on_selector("#scrubber", "el => Number(el.value)"))


def tensor_node(page: Any, name: str) -> Any:
    return page.locator(f'.graph-svg .node.tensor:has(.t-title:text-is("{name}"))').first


def test_stepping_poly_example_to_the_end_shows_x_grad_7(server: str, page: Any,
                                                         page_errors: PageErrors) -> None:
    assert open_app(page, f"{server}/?example=autograd-poly") == "ready"
    assert current_step(page) == 0
    end = last_step(page)
    assert end >= 6
    x = tensor_node(page, "x")
    assert "grad-shown" not in (x.get_attribute("class") or "")
    page.locator("#graph-view").focus()
    for _ in range(end):
        page.keyboard.press("ArrowRight")
    assert current_step(page) == end
    assert "grad-shown" in (x.get_attribute("class") or "")
    assert x.locator(".grad-block").text_content().strip() == "7"
    narration = page.locator("#narration").inner_text()
    assert "x.grad = 7" in narration
    screenshot(page, "poly-end")
    assert page_errors.unexpected() == []


def test_backward_narration_shows_chain_rule_product(server: str, page: Any) -> None:
    open_app(page, f"{server}/?example=autograd-chain-rule")
    texts = []
    for _ in range(last_step(page)):
        page.locator("#step-forward").click()
        texts.append(page.locator("#narration").inner_text())
    joined = "\n".join(texts)
    assert "3 × 4 = 12" in joined, joined
    assert "x.grad = 12" in texts[-1]


def test_forward_values_appear_as_they_are_computed(server: str, page: Any) -> None:
    open_app(page, code_url(server, POLY))
    y = tensor_node(page, "y")
    assert "pending" in (y.get_attribute("class") or "")
    page.locator("#graph-view").focus()
    page.keyboard.press("End")
    assert "pending" not in (y.get_attribute("class") or "")
    assert y.locator(".value-block").text_content().strip() == "11"


def test_syntax_error_shows_at_its_line(server: str, page: Any, page_errors: PageErrors) -> None:
    page_errors.allow(r"status of 400")
    assert open_app(page, code_url(server, BROKEN)) == "error"
    box = page.locator("#error-box")
    assert box.is_visible()
    where = page.locator(".error-where").inner_text()
    line = int("".join(ch for ch in where if ch.isdigit())[:1] or 0)
    assert line in (3, 4), where
    underline = page.locator(".cm-lintRange-error").first
    underline.wait_for()
    line_no = underline.evaluate(
        "el => [...document.querySelectorAll('.cm-content .cm-line')].indexOf(el.closest('.cm-line')) + 1"
    )
    assert line_no == line
    screenshot(page, "syntax-error")
    assert page_errors.unexpected() == []


def test_errors_come_in_the_ui_language(server: str, page: Any, page_errors: PageErrors) -> None:
    page_errors.allow(r"status of 400")
    open_app(page, code_url(server, BROKEN, lang="ko"))
    assert "줄" in page.locator(".error-where").inner_text()
    message = page.locator(".error-message").inner_text()
    assert any("\uac00" <= ch <= "\ud7a3" for ch in message), message


def test_share_link_restores_program_and_step(server: str, browser: Any, page: Any) -> None:
    open_app(page, code_url(server, POLY))
    page.locator("#graph-view").focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.locator("#copy-link").click()
    wait_until(page, "document.getElementById('copy-link').dataset.link")
    link = page.eval_on_selector("#copy-link", "el => el.dataset.link")
    assert "step=5" in link
    other = new_page(browser, PageErrors())
    try:
        assert open_app(other, link) == "ready"
        assert current_step(other) == 5
        code = other.locator(".cm-content").inner_text()
        assert "y = x ** 2 + 3 * x + 1" in code
        assert other.evaluate("location.search").find("step=5") >= 0
    finally:
        other.context.close()


def test_example_link_opens_prepared_demo_in_presenter_mode(server: str, browser: Any) -> None:
    page = new_page(browser, PageErrors(), width=1920, height=1080)
    try:
        assert open_app(page, f"{server}/?example=autograd-chain-rule&present=1&step=2") == "ready"
        assert page.evaluate("document.body.classList.contains('presenter')")
        assert current_step(page) == 2
        assert not page.locator(".editor-pane").is_visible()
    finally:
        page.context.close()


def test_language_switch_changes_ui_text(server: str, page: Any) -> None:
    open_app(page, f"{server}/?example=autograd-poly&lang=en&step=1")
    assert page.locator("#run-button").inner_text().startswith("Run")
    english = page.locator("#narration").inner_text()
    page.locator("#lang-select").select_option("ko")
    wait_until(page, "document.documentElement.lang === 'ko'")
    assert page.locator("#run-button").inner_text().startswith("실행")
    assert page.locator("#present-toggle").inner_text() == "발표 모드"
    korean = page.locator("#narration").inner_text()
    assert korean != english and "순전파" in korean
    wait_until(page, "location.search.includes('lang=ko')")
    screenshot(page, "korean")


def test_default_language_follows_the_browser(server: str, browser: Any) -> None:
    page = new_page(browser, PageErrors(), locale="ko-KR")
    try:
        page.goto(f"{server}/")
        wait_until(page, "document.documentElement.lang === 'ko'")
        assert page.locator("#run-button").inner_text().startswith("실행")
        font = page.evaluate("document.fonts.check('16px \"Noto Sans KR\"', '한국어')")
        assert font
    finally:
        page.context.close()


PRESENTER_TEXT_SIZES = """() => {
  const out = [];
  const visible = (el) => { const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
      && r.top < innerHeight && r.left < innerWidth
      && getComputedStyle(el).visibility !== 'hidden' && getComputedStyle(el).display !== 'none'; };
  for (const el of document.querySelectorAll('.graph-svg .t-title, .graph-svg .t-op, .graph-svg .t-name')) {
    if (!el.textContent.trim() || !visible(el)) continue;
    const m = el.getScreenCTM();
    const scale = Math.hypot(m.a, m.b);
    out.push({text: el.textContent, px: parseFloat(getComputedStyle(el).fontSize) * scale, graph: true});
  }
  const controls = 'button, select, summary, output, #narration p, .field > span';
  for (const el of document.querySelectorAll(controls)) {
    if (!visible(el) || !el.textContent.trim()) continue;
    out.push({text: el.textContent.trim().slice(0, 30), px: parseFloat(getComputedStyle(el).fontSize)});
  }
  return out;
}"""


def test_presenter_mode_controls_are_at_least_28px_and_names_20px(server: str, browser: Any) -> None:
    for example, theme in (("autograd-poly", "light"), ("nn-mlp-sgd", "dark")):
        page = new_page(browser, PageErrors(), width=1920, height=1080)
        try:
            open_app(page, f"{server}/?example={example}&present=1&theme={theme}&step=7")
            page.wait_for_timeout(600)
            sizes = page.evaluate(PRESENTER_TEXT_SIZES)
            graph_texts = [s for s in sizes if s.get("graph")]
            assert len(graph_texts) > 5
            # The whole graph is on screen, its names at least 20 px; the controls at 28 px.
            small = [s for s in sizes if s["px"] < (20 if s.get("graph") else 28) - 0.01]
            assert small == [], small
            screenshot(page, f"presenter-{example}-{theme}")
        finally:
            page.context.close()


def test_keyboard_controls_step_and_zoom(server: str, page: Any) -> None:
    open_app(page, f"{server}/?example=autograd-poly")
    page.locator("#graph-view").focus()
    page.keyboard.press("PageDown")
    page.keyboard.press("PageDown")
    assert current_step(page) == 2
    page.keyboard.press("PageUp")
    assert current_step(page) == 1
    before = page.eval_on_selector(".viewport", "el => el.getAttribute('transform')")
    page.keyboard.press("+")
    after = page.eval_on_selector(".viewport", "el => el.getAttribute('transform')")
    assert before != after
    page.keyboard.press("Space")
    assert page.locator("#play.playing").count() == 1
    page.keyboard.press("Space")
    assert page.locator("#play.playing").count() == 0


def test_ctrl_enter_runs_the_program(server: str, page: Any) -> None:
    open_app(page, f"{server}/?example=autograd-poly")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nz = y * 2\n")
    page.keyboard.press("Control+Enter")
    wait_until(page,
        "document.body.dataset.status === 'ready' && location.search.includes('z%20%3D%20y')"
    )
    page.wait_for_selector('.graph-svg .node.tensor:has(.t-title:text-is("z"))', state="attached")


ACCESSIBLE_NAMES = """() => [...document.querySelectorAll('button, input, select, summary, [role=button]')]
  .filter((el) => el.getClientRects().length)
  .map((el) => ({id: el.id || el.outerHTML.slice(0, 60),
    name: (el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].textContent)
           || el.textContent || '').trim(),
    tabbable: el.tabIndex >= 0}))"""


def test_every_control_has_an_accessible_name_and_is_keyboard_reachable(server: str, page: Any) -> None:
    open_app(page, f"{server}/?example=autograd-poly")
    controls = page.evaluate(ACCESSIBLE_NAMES)
    assert len(controls) > 15
    assert [c for c in controls if not c["name"]] == []
    assert [c for c in controls if not c["tabbable"]] == []
    reached = set()
    page.locator("body").focus()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id"))
    for control_id in ("run-button", "example-select", "device-select", "play", "step-forward", "scrubber",
                       "lang-select", "present-toggle", "copy-link", "zoom-in"):
        assert control_id in reached, control_id


def test_raw_autograd_view_shows_grad_fn_nodes_only(server: str, page: Any) -> None:
    open_app(page, f"{server}/?example=autograd-poly")
    page.locator("#view-toggle").click()
    wait_until(page, "location.search.includes('view=raw')")
    wait_until(page, "document.querySelectorAll('.graph-svg .node.tensor').length === 0")
    assert page.locator(".graph-svg .node.op").count() >= 4
    assert page.locator(".graph-svg .node.op.accumulate").count() == 1


def test_clicking_a_node_shows_it_and_its_source(server: str, page: Any) -> None:
    open_app(page, f"{server}/?example=autograd-poly&step=99")
    tensor_node(page, "x").click()
    panel = page.locator("#side-panel").inner_text()
    for attribute in ("shape", "dtype", "device", "requires_grad", "is_leaf", "grad_fn"):
        assert attribute in panel
    assert page.locator(".cm-node-source").count() >= 1


def test_downloads(server: str, page: Any) -> None:
    open_app(page, f"{server}/?example=autograd-poly")
    for kind, suffix in (("svg", ".svg"), ("png", ".png"), ("json", ".json"), ("dot", ".dot")):
        page.locator("#download-menu summary").click()
        with page.expect_download() as info:
            page.locator(f"[data-download={kind}]").click()
        download = info.value
        assert download.suggested_filename.endswith(suffix)
        assert download.path().stat().st_size > 100


def test_dots_move_in_a_layer_of_their_own(server: str, page: Any) -> None:
    """What moves every frame is drawn above the graph, so the graph itself is not repainted."""
    open_app(page, f"{server}/?example=autograd-poly")
    page.locator("#play").click()
    seen = {"motion": 0, "graph": 0}
    for _ in range(30):
        page.wait_for_timeout(100)
        seen["motion"] += page.locator(".graph-motion .dot, .graph-motion .flow-overlay").count()
        seen["graph"] += page.locator(".graph-svg .dot, .graph-svg .flow-overlay").count()
    assert seen["motion"] > 0 and seen["graph"] == 0, seen
    same = "document.querySelector('.graph-motion .viewport').getAttribute('transform') === "
    assert page.evaluate(same + "document.querySelector('.graph-svg .viewport').getAttribute('transform')")


def test_reduced_motion_steps_without_moving_dots(server: str, browser: Any) -> None:
    page = new_page(browser, PageErrors(), reduced_motion="reduce")
    try:
        open_app(page, f"{server}/?example=autograd-poly")
        page.select_option("#speed-select", "4")
        page.locator("#play").click()
        seen_dots = 0
        for _ in range(20):
            page.wait_for_timeout(100)
            seen_dots += page.locator(".graph-motion .dot").count()
        assert current_step(page) >= 1
        assert seen_dots == 0
    finally:
        page.context.close()


def test_modules_fold_into_one_node_each(server: str, page: Any) -> None:
    open_app(page, f"{server}/?example=nn-mlp-sgd")
    before = page.locator(".graph-svg .node").count()
    page.locator("#collapse-toggle").click()
    wait_until(page, "document.querySelectorAll('.graph-svg .node.group').length >= 3")
    assert page.locator(".graph-svg .node").count() < before
    assert page.locator("#collapse-toggle").get_attribute("aria-pressed") == "true"


TWO_PASSES = (
    "import torch\nx = torch.tensor(2.0, requires_grad=True)\ny = x**2\n"
    "y.backward(retain_graph=True)\nz = 3*x\nz.backward()\n"
)


def _torch_leaf_grads_per_pass() -> list[float]:
    """x.grad right after each backward() of TWO_PASSES, computed by torch itself."""
    import torch

    x = torch.tensor(2.0, requires_grad=True)
    y = x ** 2
    y.backward(retain_graph=True)
    assert x.grad is not None
    after_first = float(x.grad)
    z = 3 * x
    z.backward()
    return [after_first, float(x.grad)]


def _number(value: float) -> str:
    return f"{value:g}"


def test_each_backward_pass_shows_its_own_gradients(server: str, page: Any, page_errors: PageErrors) -> None:
    first, second = _torch_leaf_grads_per_pass()
    assert first != second
    assert open_app(page, code_url(server, TWO_PASSES)) == "ready"
    x = tensor_node(page, "x")
    shown, narrations = [], []
    for _ in range(last_step(page)):
        page.locator("#step-forward").click()
        narration = page.locator("#narration").inner_text()
        if narration.startswith("x.grad"):
            assert "grad-shown" in (x.get_attribute("class") or "")
            shown.append(x.locator(".grad-block").text_content().strip())
            narrations.append(narration)
    # One accumulation per backward pass: x.grad after pass 1, then after pass 2.
    assert shown == [_number(first), _number(second)], shown
    assert narrations[0] == f"x.grad = {_number(first)}"
    assert narrations[1] == f"x.grad = {_number(first)} + {_number(second - first)} = {_number(second)}"
    # At the end x shows what the program's x.grad holds, not a sum over the passes.
    page.locator("#graph-view").focus()
    page.keyboard.press("End")
    assert x.locator(".grad-block").text_content().strip() == _number(second)
    screenshot(page, "two-passes-end")
    assert page_errors.unexpected() == []


def test_empty_details_panel_shows_printed_output_and_notes(server: str, page: Any) -> None:
    code = (
        "import torch\nx = torch.tensor([1.0, 2.0], requires_grad=True)\n"
        "y = x * 3\nprint('hello', y.shape)\n"
    )
    open_app(page, code_url(server, code))
    assert page.locator("#side-panel #printed").is_visible()
    assert "hello" in page.locator("#printed").inner_text()
    assert page.locator("#panel-notes p").count() >= 1  # the output is not a scalar: a note says so
    tensor_node(page, "x").click()
    assert not page.locator("#printed").is_visible()
    assert "requires_grad" in page.locator("#side-panel").inner_text()
    page.locator(".graph-svg").click(position={"x": 5, "y": 5})
    assert page.locator("#printed").is_visible()
    page.locator("#present-toggle").click()
    assert not page.locator("#side-panel").is_visible()
    assert page.locator("#notes").is_visible()
