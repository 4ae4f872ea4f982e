"""Front-end benchmark: layout-and-draw time and animation frames per second.

Drives Debian's headless Chromium over the built web app (frontend/dist, served
here by a tiny static server; the API answers come from generated graphs shaped
like an MLP's training step). Prints a table of medians.

    .venv/bin/python bench/bench_frontend.py [--sizes 100 1000 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import random
import statistics
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "frontend" / "dist"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SOURCE = "# generated graph\n"


def summary(rows: int, cols: int, rng: random.Random) -> dict[str, Any]:
    mean = rng.uniform(-1, 1)
    grid = [[round(rng.gauss(mean, 1), 3) for _ in range(4)] for _ in range(4)]
    return {
        "shape": [rows, cols],
        "dtype": "float32",
        "numel": rows * cols,
        "head": [g for row in grid for g in row][:8],
        "stats": {"min": -2.5, "max": 2.5, "mean": mean, "std": 1.0},
        "grid": {"rows": 4, "cols": 4, "data": grid},
    }


def mlp_graph(target_nodes: int, seed: int = 0) -> dict[str, Any]:
    """A chain of linear + relu blocks (with residual adds) of about target_nodes nodes."""
    rng = random.Random(seed)
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    forward: list[str] = []

    def tensor(role: str, name: str | None = None, leaf: bool = False, module: str | None = None) -> str:
        tid = f"t{len(nodes)}"
        nodes.append(
            {
                "id": tid,
                "kind": "tensor",
                "name": name,
                "role": role,
                "shape": [16, 8],
                "dtype": "float32",
                "device": "cpu",
                "requires_grad": role != "constant",
                "is_leaf": leaf,
                "value": summary(16, 8, rng),
                "grad": summary(16, 8, rng),
                "module": module,
            }
        )
        return tid

    def op(label: str, cls: str, inputs: list[str], module: str | None) -> str:
        oid = f"op{len(nodes)}"
        nodes.append({"id": oid, "kind": "op", "op": cls, "label": label, "module": module})
        for slot, src in enumerate(inputs):
            edges.append(
                {
                    "id": f"e{len(edges)}",
                    "source": src,
                    "target": oid,
                    "kind": "input",
                    "slot": slot,
                    "grad": summary(16, 8, rng),
                }
            )
        out = tensor("intermediate", module=module)
        edges.append({"id": f"e{len(edges)}", "source": oid, "target": out, "kind": "output"})
        forward.append(oid)
        return out

    def leaf(name: str, module: str) -> str:
        tid = tensor("param", name, leaf=True, module=module)
        acc = f"op{len(nodes)}"
        nodes.append(
            {"id": acc, "kind": "op", "op": "AccumulateGrad", "label": "accumulate", "variable": tid}
        )
        edges.append({"id": f"e{len(edges)}", "source": acc, "target": tid, "kind": "output"})
        return tid

    h = tensor("constant", "x")
    block = 0
    while len(nodes) < target_nodes - 4:
        module = f"layer{block}"
        w, b = leaf("weight", module), leaf("bias", module)
        y = op("mm", "MmBackward0", [h, w], module)
        y = op("add", "AddBackward0", [y, b], module)
        y = op("relu", "ReluBackward0", [y], module)
        if block and rng.random() < 0.5:
            y = op("add", "AddBackward0", [y, h], module)
        h = y
        block += 1
    loss = op("mean", "MeanBackward0", [h], None)
    nodes[-1]["role"] = "output"
    backward = [n["id"] for n in reversed(nodes) if n["kind"] == "op"]
    return {
        "schema_version": 1,
        "device": "cpu",
        "output": loss,
        "nodes": nodes,
        "edges": edges,
        "variables": {"x": "t0"},
        "forward_order": forward,
        "backward_order": backward,
        "backward_passes": [{"root": loss, "order": backward}],
        "printed": "",
        "notes": [],
    }


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_static_server() -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(DIST))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# Frames per second while playing, the worst frame, and how often the big-graph label layer
# was rewritten (a count that does not depend on the machine's load).
FPS_SCRIPT = """async (ms) => {
  let redraws = 0;
  const layer = document.querySelector('.lod-labels');
  const watch = new MutationObserver(() => redraws++);
  if (layer) watch.observe(layer, {childList: true});
  let frames = 0; let worst = 0; let last = performance.now();
  const start = last;
  await new Promise((resolve) => {
    const tick = (now) => { frames++; worst = Math.max(worst, now - last); last = now;
      if (now - start < ms) requestAnimationFrame(tick); else resolve(); };
    requestAnimationFrame(tick);
  });
  watch.disconnect();
  return {fps: frames * 1000 / (performance.now() - start), worst, redraws};
}"""


def measure(
    browser: Any, base: str, graph: dict[str, Any], engine: str | None, fps: bool
) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    body = json.dumps(graph)
    page.route(
        "**/api/graph", lambda route: route.fulfill(status=200, content_type="application/json", body=body)
    )
    page.route(
        "**/api/devices",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body='{"devices":[{"id":"cpu"}],"default":"cpu"}'
        ),
    )
    page.route(
        "**/api/examples", lambda route: route.fulfill(status=200, content_type="application/json", body="[]")
    )
    query = f"?collapse=0&code={quote(SOURCE)}" + (f"&layout={engine}" if engine else "")
    page.goto(f"{base}/{query}")
    page.wait_for_selector('body[data-status="ready"]', state="attached", timeout=120_000)
    result = {
        k: float(page.evaluate(f"Number(document.body.dataset.{k})"))
        for k in ("renderMs", "layoutMs", "drawMs", "nodes")
    }
    if fps:
        page.select_option("#speed-select", "4")
        page.locator("#play").click()
        result.update(page.evaluate(FPS_SCRIPT, 4000))
        page.locator("#play").click()
    page.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--elk-up-to", type=int, default=1000, help="also time ELK forced up to this size")
    args = parser.parse_args()
    if not (DIST / "index.html").is_file():
        raise SystemExit("frontend/dist is missing: run scripts/setup.sh first")

    from playwright.sync_api import sync_playwright

    server, base = start_static_server()
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for size in args.sizes:
            graph = mlp_graph(size)
            engines: list[str | None] = [None]
            if size <= args.elk_up_to and size > 150:
                engines.append("elk")
            for engine in engines:
                runs = [
                    measure(browser, base, graph, engine, fps=(i == 0 and size in (1000, *args.sizes[-1:])))
                    for i in range(args.runs)
                ]
                med = {k: statistics.median(r[k] for r in runs) for k in ("renderMs", "layoutMs", "drawMs")}
                fps_run = runs[0]
                rows.append(
                    (len(graph["nodes"]), engine or "auto", med, fps_run.get("fps"), fps_run.get("worst"),
                     fps_run.get("redraws"))
                )
        browser.close()
    server.shutdown()
    print(
        f"{'nodes':>6} {'layout':>6} {'layout ms':>10} {'draw ms':>8} {'total ms':>9} "
        f"{'fps':>6} {'worst frame':>12} {'label redraws':>14}"
    )
    for nodes, engine, med, fps, worst, redraws in rows:
        fps_text = f"{fps:6.1f}" if fps else "     -"
        worst_text = f"{worst:10.0f}ms" if worst else "           -"
        redraw_text = f"{redraws:>14.0f}" if redraws is not None else f"{'-':>14}"
        print(
            f"{nodes:>6} {engine:>6} {med['layoutMs']:>10.0f} {med['drawMs']:>8.0f} {med['renderMs']:>9.0f} "
            f"{fps_text} {worst_text} {redraw_text}"
        )
    print("total = graph received -> laid out, drawn and painted (includes sizing and the first step).")
    print("label redraws = rewrites of the big-graph label layer during the 4 s of play at 4x.")


if __name__ == "__main__":
    main()
