"""A big graph draws only what is near the screen, and more of it as the view widens.

The server's answer is replaced by a generated 1,000-node graph shaped like an MLP's
training step (the bench's generator), so the test does not wait for a real trace.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from browser_helpers import PageErrors, open_app

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_frontend import mlp_graph

# Nodes whose box meets the graph view on screen, and those of them hidden.
ON_SCREEN = """() => {
  const view = document.querySelector('#graph-view').getBoundingClientRect();
  const nodes = [...document.querySelectorAll('.graph-svg .nodes > g[data-id]')];
  const near = nodes.filter((g) => {
    if (g.getAttribute('display') === 'none') { g.removeAttribute('display'); g.dataset.probe = '1'; }
    const r = g.getBoundingClientRect();
    return r.right > view.left && r.left < view.right && r.bottom > view.top && r.top < view.bottom;
  });
  const hidden = near.filter((g) => g.dataset.probe === '1').length;
  for (const g of nodes) if (g.dataset.probe) { delete g.dataset.probe; g.setAttribute('display', 'none'); }
  return {near: near.length, hidden, all: nodes.length,
          culled: nodes.filter((g) => g.getAttribute('display') === 'none').length};
}"""


def test_a_big_graph_hides_only_what_is_far_off_screen(
    server: str, page: Any, page_errors: PageErrors
) -> None:
    body = json.dumps(mlp_graph(1000))
    page.route("**/api/graph", lambda r: r.fulfill(status=200, content_type="application/json", body=body))
    assert open_app(page, f"{server}/?collapse=0&code=%23%20generated") == "ready"
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(600)  # the camera's move
    seen = page.evaluate(ON_SCREEN)
    assert seen["all"] > 500 and seen["culled"] > 0, seen  # opened on a step: most of it far away
    assert seen["near"] > 0 and seen["hidden"] == 0, seen  # nothing on screen is missing
    page.locator("#zoom-fit").click()
    page.wait_for_timeout(600)
    whole = page.evaluate(ON_SCREEN)
    # zoomed out as far as it goes (this graph is wider than the screen even then): more
    # is shown, and still nothing on screen is missing
    assert whole["hidden"] == 0 and whole["near"] > seen["near"] and whole["culled"] < seen["culled"], whole
    assert page_errors.unexpected() == []
