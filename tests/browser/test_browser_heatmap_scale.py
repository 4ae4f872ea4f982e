"""The heatmaps of the details panel carry a colour scale: the smallest and largest cell, 0 where
the cells change sign, readable in both themes and said to screen readers in the UI language."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
import torch
from browser_helpers import PageErrors, open_app, screenshot

# A 16 × 16 leaf: too big for a table, so its value and gradient are heatmaps of every element.
PROGRAM = (
    "import torch\n"
    "w = (torch.arange(256.0) / 20 - 3).reshape(16, 16).requires_grad_()\n"
    "loss = (w * w).sum()\n"
    "loss.backward()\n"
)

CONTRAST = """el => {
  const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => {
    const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  let back = el;
  while (back && (getComputedStyle(back).backgroundColor === 'rgba(0, 0, 0, 0)')) back = back.parentElement;
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(rgb(getComputedStyle(back).backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def _expected_ranges() -> list[tuple[str, str]]:
    """What torch says: the value's and the gradient's smallest and largest element."""
    w = (torch.arange(256.0) / 20 - 3).reshape(16, 16).requires_grad_()
    (w * w).sum().backward()
    assert w.grad is not None
    return [(f"{t.min().item():g}", f"{t.max().item():g}") for t in (w.detach(), w.grad)]


def _open_leaf(page: Any, server: str, **params: str) -> Any:
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    assert open_app(page, f"{server}/?code={quote(PROGRAM)}{extra}") == "ready"
    page.locator('.graph-svg .node.tensor:has(.t-title:text-is("w"))').first.click()
    return page.locator("#side-panel .heatmap-legend")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_each_heatmap_has_a_scale_with_its_min_and_max(server: str, page: Any, page_errors: PageErrors,
                                                        theme: str) -> None:
    legends = _open_leaf(page, server, theme=theme, lang="en")
    assert legends.count() == 2 == page.locator("#side-panel .heatmap").count()
    for k, (low, high) in enumerate(_expected_ranges()):
        legend = legends.nth(k)
        assert legend.locator(".heatmap-legend-min").inner_text() == low
        assert legend.locator(".heatmap-legend-max").inner_text() == high
        assert legend.locator(".heatmap-legend-zero").inner_text() == "0"  # both signs: 0 is marked
        assert legend.get_attribute("aria-label") == (
            f"Colour scale from {low} to {high}: blue cells are below 0, orange above, paler nearer 0")
        assert legend.evaluate("el => el.previousElementSibling.classList.contains('heatmap')")
        for part in (".heatmap-legend-min", ".heatmap-legend-max", ".heatmap-legend-zero"):
            assert legend.locator(part).evaluate(CONTRAST) >= 4.5, (theme, part)
    screenshot(page, f"heatmap-scale-{theme}")
    assert page_errors.unexpected() == []


def test_the_ramp_ends_in_the_colours_of_the_extreme_cells(server: str, page: Any) -> None:
    """The ramp is the heatmap's own mapping: its first and last pixel are the min and max cells'."""
    legend = _open_leaf(page, server).first
    pixel = "(c, [x, y]) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3))"
    ramp = legend.locator("canvas")
    heat = page.locator("#side-panel .heatmap").first
    width = int(ramp.evaluate("c => c.width"))
    assert ramp.evaluate(pixel, [0, 0]) == heat.evaluate(pixel, [0, 0])  # w[0, 0] is the smallest
    assert ramp.evaluate(pixel, [width - 1, 0]) == heat.evaluate(pixel, [15, 15])  # w[15, 15] the largest


def test_the_scale_speaks_korean(server: str, page: Any) -> None:
    legend = _open_leaf(page, server, lang="ko").first
    low, high = _expected_ranges()[0]
    assert legend.get_attribute("aria-label").startswith(f"색 척도 {low}부터 {high}까지")


def test_an_op_shows_the_gradients_it_sent_from_its_input_edges(server: str, page: Any) -> None:
    """w * w sends w's value to each of its two inputs (d(ab)/da = b): two heatmaps of w."""
    assert open_app(page, f"{server}/?code={quote(PROGRAM)}&lang=en") == "ready"
    mul = page.locator(".graph-svg .node.op").filter(has=page.locator("title", has_text="MulBackward0"))
    mul.first.click()
    panel = page.locator("#side-panel")
    sent = panel.locator("h4", has_text="Gradients sent to inputs")
    assert sent.count() == 1
    low, high = _expected_ranges()[0]
    legends = sent.locator("~ .summary .heatmap-legend")
    assert legends.count() == 2
    for k in range(2):
        assert legends.nth(k).locator(".heatmap-legend-min").inner_text() == low
        assert legends.nth(k).locator(".heatmap-legend-max").inner_text() == high
