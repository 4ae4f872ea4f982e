"""One table of export formats: the web API, the ``gradtrace`` command and ``Graph`` give the same
bytes for each format, and each format's bytes read back with an independent parser."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from gradtrace.api import create_app
from gradtrace.cli import main as cli_main
from gradtrace.export.formats import FORMATS, format_for_path, render
from gradtrace.pipeline import Graph, trace_source
from gradtrace.service import Settings

PROGRAM = "w = torch.randn(3, 4, requires_grad=True)\nx = torch.randn(4)\nloss = torch.tanh(w @ x).sum()\n" \
          "loss.backward()\n"

#: What ``Graph`` offers for each format, as the bytes a file of it would hold.
GRAPH_METHODS: dict[str, Callable[[Graph], bytes]] = {
    "json": lambda graph: graph.to_json().encode(),
    "dot": lambda graph: graph.to_dot().encode(),
    "graphml": lambda graph: graph.to_graphml().encode(),
    "node-link": lambda graph: graph.render("node-link"),
}


async def _through_api(formats: list[str]) -> dict[str, tuple[bytes, str]]:
    """Each format's body and content type from ``POST /api/export``, served by real workers."""
    app = create_app(Settings.load(env={}, workers=1))
    answers: dict[str, tuple[bytes, str]] = {}
    async with app.router.lifespan_context(app):
        assert await app.state.pool.wait_ready(200), "no worker came up"
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://gradtrace.test", timeout=120)
        async with client:
            for name in formats:
                response = await client.post(f"/api/export?format={name}", json={"source": PROGRAM})
                assert response.status_code == 200, (name, response.text)
                answers[name] = (response.content, response.headers["content-type"])
    return answers


@pytest.fixture(scope="module")
def api_answers(run_async: Callable[[Coroutine[Any, Any, Any]], Any]) -> dict[str, tuple[bytes, str]]:
    return run_async(_through_api(sorted(FORMATS)))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def graph() -> Graph:
    return Graph(trace_source(PROGRAM))


def _through_cli(tmp_path: Path, name: str) -> tuple[bytes, bytes]:
    """The command's file when the suffix names the format, and when ``-f`` does."""
    by_suffix = tmp_path / f"graph.{FORMATS[name].extension}"
    by_flag = tmp_path / f"{name}.out"
    assert cli_main(["export", PROGRAM, "-o", str(by_suffix)]) == 0
    assert cli_main(["export", PROGRAM, "-o", str(by_flag), "-f", name]) == 0
    return by_suffix.read_bytes(), by_flag.read_bytes()


def test_the_table_names_the_four_formats() -> None:
    assert set(FORMATS) == {"json", "dot", "graphml", "node-link"} == set(GRAPH_METHODS)
    assert format_for_path("g.node-link.json").name == "node-link"
    assert format_for_path("G.DOT").name == "dot"
    assert format_for_path("g.txt").name == "json"
    with pytest.raises(ValueError, match="unknown export format"):
        render({"nodes": [], "edges": []}, "pdf")


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_api_cli_and_graph_give_the_same_bytes(
    name: str, api_answers: dict[str, tuple[bytes, str]], graph: Graph, tmp_path: Path,
) -> None:
    api_body, content_type = api_answers[name]
    by_suffix, by_flag = _through_cli(tmp_path, name)
    saved = tmp_path / f"saved.{FORMATS[name].extension}"
    assert graph.save(saved) == name
    assert content_type == FORMATS[name].media_type
    assert api_body == by_suffix == by_flag == GRAPH_METHODS[name](graph) == saved.read_bytes()


def test_saving_in_an_unknown_format_writes_nothing(graph: Graph, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        graph.save(tmp_path / "g.pdf", "pdf")
    assert not (tmp_path / "g.pdf").exists()
    assert graph.save(tmp_path / "g.txt") == "json"  # a suffix no format has: JSON, as the command does


def test_each_format_reads_back(graph: Graph) -> None:
    """The shared bytes are the format they say they are (parsers that are not ours)."""
    nodes = len(graph.data["nodes"])
    assert isinstance(json.loads(graph.render("json"))["nodes"], list)
    assert len(json.loads(graph.render("node-link"))["nodes"]) == nodes
    graphml = ET.fromstring(graph.render("graphml"))
    assert len(graphml.findall(".//{http://graphml.graphdrawing.org/xmlns}node")) == nodes
    assert graph.render("dot").decode().lstrip().startswith(("digraph", "strict"))
    assert graph.to_json(indent=True) != graph.to_json() and json.loads(graph.to_json(indent=True)) == \
        json.loads(graph.to_json())
