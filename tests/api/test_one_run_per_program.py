"""The format and the language are not part of a result's key: a graph, its DOT and
GraphML exports, and the same program asked in English and in Korean cost one worker
run; an error answers each language from the one run."""

from __future__ import annotations

from typing import Any

import networkx as nx

from gradtrace.export import expand, to_dot

QUICK = "x = torch.tensor([1.0, 2.0], requires_grad=True)\ny = (x * 3).sum()\n"
BROKEN = "x = torch.tensor(2.0, requires_grad=True)\ny = (x ** 2 +\n"


def served(api: Any) -> int:
    return int(api.get("/api/health").json()["workers"]["served"])


def test_languages_and_formats_share_one_run(api: Any) -> None:
    program = QUICK + "q = y * 5\n"
    before = served(api)
    english = api.graph(program, lang="en")
    korean = api.graph(program, lang="ko")
    dot = api.post("/api/export?format=dot", json={"source": program, "lang": "ko"})
    graphml = api.post("/api/export?format=graphml", json={"source": program})
    assert {r.status_code for r in (english, korean, dot, graphml)} == {200}
    assert served(api) == before + 1
    assert english.content == korean.content
    # The parent's DOT is what the exporter makes of the graph the worker returned (its
    # compact JSON expanded: the input edges' gradients are labels in DOT).
    assert dot.text == to_dot(expand(english.json()))
    assert 'label="grad' in dot.text
    parsed = nx.parse_graphml(graphml.text)
    assert parsed.number_of_nodes() == len(english.json()["nodes"])


def test_an_error_in_each_language_from_one_run(api: Any) -> None:
    program = BROKEN + "# once\n"
    before = served(api)
    english = api.graph(program, lang="en").json()["error"]
    korean = api.graph(program, lang="ko").json()["error"]
    assert served(api) == before + 1
    assert english["code"] == korean["code"] == "syntax_error"
    assert english["message"] == english["messages"]["en"]["message"]
    assert korean["message"] == korean["messages"]["ko"]["message"] != english["message"]
    assert korean["lang"] == "ko" and korean["hint"] == korean["messages"]["ko"]["hint"]
