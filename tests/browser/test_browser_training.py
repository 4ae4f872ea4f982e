"""Training loops in the web app against a real server: every kept iteration plays forward,
backward, then the program's updates; the numbers on screen are plain torch's (a re-run of
the same loop is the oracle); the loss plot and one iteration's own graph; formulas of nn
programs with every input, enum arguments by name and constants kept."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any
from urllib.parse import quote

import pytest
import torch
from browser_helpers import PageErrors, curriculum, open_app, screenshot, wait_until

EXAMPLES = {e["id"]: e for e in curriculum()}

SGD_LOOP = """import torch
w = torch.tensor(0.0, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)
for step in range(3):
    loss = (w - 3.0) ** 2
    opt.zero_grad()
    loss.backward()
    opt.step()
"""

FIFTY_ITERATIONS = """import torch
x = torch.tensor([0.0, 1.0, 2.0, 3.0])
y = 3 * x - 1
w = torch.tensor(0.0, requires_grad=True)
b = torch.tensor(0.0, requires_grad=True)
opt = torch.optim.SGD([w, b], lr=0.05)
for step in range(50):
    loss = ((w * x + b - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""

CONSTANTS_AND_ENUMS = """import torch
import torch.nn.functional as F
x = torch.tensor([1.0, 2.0], requires_grad=True)
z = x + 3
logits = torch.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]], requires_grad=True)
labels = torch.tensor([1, 2])
ce = F.nll_loss(F.log_softmax(logits, dim=1), labels)
loss = ce + z.sum()
loss.backward()
"""

# Steps from..to in one call (the scrubber: no moving dots to wait for): phase, narration,
# and the named leaves' value and .grad as drawn.
PLAY = """([names, from, to]) => {
  const narration = document.getElementById('narration');
  const scrubber = document.getElementById('scrubber');
  const last = Math.min(Number(scrubber.max), to ?? Infinity);
  const node = (name) => [...document.querySelectorAll('.graph-svg .node.tensor')]
    .find((el) => el.querySelector('.t-title')?.textContent === name);
  const steps = [];
  for (let i = from; i <= last; i++) {
    scrubber.value = String(i);
    scrubber.dispatchEvent(new Event('input'));
    const leaves = {};
    for (const name of names) {
      const el = node(name);
      leaves[name] = el ? { value: el.dataset.value ?? null, grad: el.classList.contains('grad-shown')
        ? el.querySelector('.grad-block')?.textContent.trim() : null } : null;
    }
    const text = [...narration.children].map((p) => p.textContent).join('\\n');
    steps.push({ phase: narration.dataset.phase, text, leaves });
  }
  return steps;
}"""

LETTER = {"start": "S", "forward": "F", "seed": "s", "backward": "B", "update": "U", "skip": "K", "done": "D"}


def code_url(server: str, code: str) -> str:
    return f"{server}/?code={quote(code)}"


def graph_json(server: str, source: str) -> dict[str, Any]:
    """The graph the page was given: the app's own request, answered from the server's cache."""
    body = {"source": source, "device": "cpu", "backward": True, "lang": "en"}
    request = urllib.request.Request(f"{server}/api/graph", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return dict(json.load(response))


def play(page: Any, names: tuple[str, ...] = (), start: int = 0,
         stop: int | None = None) -> list[dict[str, Any]]:
    """The steps start..stop (inclusive; None: to the end) as the page shows them."""
    return list(page.evaluate(PLAY, [list(names), start, stop]))


def phases(steps: list[dict[str, Any]]) -> str:
    return "".join(LETTER[s["phase"]] for s in steps)


def number(value: float) -> str:
    """A number as the app writes it (four significant digits, a true minus sign in formulas)."""
    return f"{float(f'{value:.4g}'):g}"


def operand(value: float) -> str:
    text = number(value)
    return f"(−{text[1:]})" if value < 0 else text


def torch_sgd_loop() -> tuple[list[float], list[float], float]:
    """The oracle: the same loop in plain torch: w read by each pass, each pass's gradient, w at the end."""
    w = torch.tensor(0.0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    read, grads = [], []
    for _ in range(3):
        read.append(w.item())
        loss = (w - 3.0) ** 2
        opt.zero_grad()
        loss.backward()
        grads.append(w.grad.item())
        opt.step()
    return read, grads, w.item()


def test_sgd_loop_plays_each_iteration_with_torchs_numbers(server: str, page: Any,
                                                            page_errors: PageErrors) -> None:
    read, grads, final = torch_sgd_loop()
    assert open_app(page, code_url(server, SGD_LOOP)) == "ready", page.locator("#error-box").inner_text()
    steps = play(page, ("w",))
    assert re.fullmatch(r"S(?:F+sB+U+){3}D", phases(steps)), phases(steps)
    seeds = [i for i, s in enumerate(steps) if s["phase"] == "seed"]
    for k, at in enumerate(seeds):
        assert f"backward() #{k + 1} of 3" in steps[at]["text"]
        # The forward of iteration k read w as torch had it then, not its final value.
        forward = steps[at - 1]
        assert forward["phase"] == "forward" and forward["leaves"]["w"]["value"] == number(read[k])
        accumulate = next(s for s in steps[at:] if s["text"].startswith("w.grad"))
        assert accumulate["text"] == f"w.grad = {number(grads[k])}"
        assert accumulate["leaves"]["w"]["grad"] == number(grads[k])
        update = next(s for s in steps[at:] if "optimizer.step()" in s["text"])
        after = read[k + 1] if k + 1 < len(read) else final
        assert f"w ← {operand(read[k])} − 0.1 × {operand(grads[k])} = {number(after)}" in update["text"]
        assert update["leaves"]["w"]["value"] == number(after)
    assert "w ← 0.6 − 0.1 × (−4.8) = 1.08" in "\n".join(s["text"] for s in steps)
    assert steps[-1]["leaves"]["w"]["value"] == number(final)
    screenshot(page, "training-sgd-end")
    assert page_errors.unexpected() == []


# The course's gradient-descent programs (gd-restore-image rebinds its tensor each iteration:
# random_tensor = random_tensor - lr * random_tensor.grad under no_grad).
GD_EXAMPLES = ["gd-fit-line", "nn-mlp-sgd", "nn-mlp-adam", "gd-restore-image"]
# A loop of 100 kept to 16 passes has ~280 steps on a 160-node graph, each a re-layout of the
# page: its first iteration is walked, then its last one and the end.
WALK = 20


# One pass as played: its own forward, seed and backward, then the updates that followed it.
PASS = re.compile(r"(F*)sB+(U*)(?=[FKsD])")


def played_passes(sequence: str) -> list[tuple[bool, bool]]:
    """(has its forward, has updates) of each complete pass in a sequence of step letters."""
    return [(bool(forward), bool(updates)) for forward, updates in PASS.findall(sequence)]


@pytest.mark.parametrize("example", GD_EXAMPLES)
def test_gradient_descent_examples_play_forward_backward_update(server: str, page: Any,
                                                                page_errors: PageErrors,
                                                                example: str) -> None:
    assert open_app(page, f"{server}/?example={example}") == "ready"
    graph = graph_json(server, EXAMPLES[example]["source"])
    after = {u["after_pass"] for u in graph["updates"]}
    # Every kept iteration: its forward, its backward, and an update when the program made one.
    expected = [(True, p["index"] in after) for p in graph["backward_passes"]]
    assert any(updates for _, updates in expected)
    last = int(page.eval_on_selector("#scrubber", "el => Number(el.max)"))
    if last <= 2 * WALK:
        sequence = phases(play(page))
        assert re.fullmatch(r"SU*(?:K?F*sB+U*)+F*D", sequence), sequence
        assert played_passes(sequence) == expected, sequence
    else:
        head = phases(play(page, stop=WALK))
        first = played_passes(head)
        assert first and first == expected[: len(first)], head
        tail = phases(play(page, start=last - WALK))
        assert tail.endswith("D"), tail
        final = played_passes(tail)
        assert final, tail
        assert [u for _, u in final] == [u for _, u in expected[len(expected) - len(final):]], tail
        assert all(forward for forward, _ in final[1:]), tail  # the first began before the walk
    if len(expected) > 1:
        assert page.locator("#loss-plot").is_visible()
        assert page.locator("#iteration-select option").count() == len(expected) + 1
    assert page_errors.unexpected() == []


def test_loss_plot_of_fifty_iterations_and_one_iterations_graph(server: str, page: Any,
                                                                page_errors: PageErrors) -> None:
    assert open_app(page, code_url(server, FIFTY_ITERATIONS)) == "ready"
    graph = graph_json(server, FIFTY_ITERATIONS)
    assert graph["pass_count"] == 50 and len(graph["iterations"]) == 50
    plot = page.locator("#loss-plot")
    assert plot.is_visible()
    points = plot.locator("polyline.series-0").get_attribute("points") or ""
    assert len(points.split()) == 50
    assert plot.locator("circle.kept").count() == len(graph["backward_passes"])
    if len(graph["backward_passes"]) < 50:
        assert "of 50 iterations are kept in detail" in plot.inner_text()
    whole = int(page.evaluate("document.body.dataset.nodes"))
    # One kept iteration from the middle: its own graph, its own pass.
    k = len(graph["backward_passes"]) // 2
    n = graph["backward_passes"][k]["index"] + 1
    page.locator("#iteration-select").select_option(str(k))
    page.locator(f"#loss-plot circle.kept.picked[data-pass='{k}']").wait_for()
    wait_until(page, f"Number(document.body.dataset.nodes) < {whole}")
    texts = [s["text"] for s in play(page)]
    assert any(f"backward() #{n} of 50" in text for text in texts)
    assert sum("backward() #" in text for text in texts) == 1
    screenshot(page, "training-fifty-one-iteration")
    page.locator("#iteration-select").select_option("")
    wait_until(page, f"Number(document.body.dataset.nodes) === {whole}")
    assert page_errors.unexpected() == []


def test_nn_narration_names_every_input_and_every_gradient(server: str, page: Any,
                                                           page_errors: PageErrors) -> None:
    assert open_app(page, f"{server}/?example=nn-mlp-sgd") == "ready"
    texts = [s["text"] for s in play(page)]
    joined = "\n".join(texts)
    assert "addmm(model.0.bias, x, model.0.weightᵀ)" in joined
    assert "mse_loss(pred, target, reduction='mean')" in joined
    assert "model.0.bias = [8]" not in joined
    assert re.search(r"model\.0\.weight = shape \[8, 4\]", texts[0]), texts[0]
    done = texts[-1]
    for name in ("model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"):
        assert f"{name}.grad = " in done, done
    # x reaches the first layer on screen too: its edge in the JSON is drawn.
    graph = graph_json(server, EXAMPLES["nn-mlp-sgd"]["source"])
    x = graph["variables"]["x"]
    from_x = {e["id"] for e in graph["edges"] if e["source"] == x and e["kind"] == "input"}
    edges = "() => [...document.querySelectorAll('.graph-svg .edge')].map((e) => e.dataset.id)"
    drawn = set(page.evaluate(edges))
    assert from_x and from_x <= drawn
    assert page_errors.unexpected() == []


def test_constants_and_enum_arguments_in_formulas(server: str, page: Any, page_errors: PageErrors) -> None:
    assert open_app(page, code_url(server, CONSTANTS_AND_ENUMS)) == "ready"
    joined = "\n".join(s["text"] for s in play(page))
    assert "z = x + 3 = [4, 5]" in joined
    assert "log_softmax(logits, dim=1)" in joined
    assert re.search(r"ce = nll_loss\(.*, labels, reduction='mean'\) = ", joined), joined
    assert "18446744073709552000" not in joined
    assert page_errors.unexpected() == []


def test_adam_moments_in_the_details_panel(server: str, page: Any, page_errors: PageErrors) -> None:
    assert open_app(page, f"{server}/?example=nn-mlp-adam") == "ready"
    # The node may lie outside the camera's view: a click event straight to it.
    page.locator('.graph-svg .node.tensor:has(.t-title:text-is("layer2.bias"))').first.dispatch_event("click")
    panel = page.locator("#side-panel").text_content() or ""
    assert "Updates" in panel and "optimizer_step (Adam)" in panel
    assert "exp_avg" in panel and "exp_avg_sq" in panel
    assert page_errors.unexpected() == []
