"""Every endpoint answers with the documented shape."""

from __future__ import annotations

from typing import Any

from gradtrace.schema import GraphModel

QUICK = "x = torch.tensor(2.0, requires_grad=True)\ny = x**2 + 3*x + 1\ny.backward()\n"


def test_graph_returns_a_valid_graph(api: Any) -> None:
    response = api.graph(QUICK)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    graph = GraphModel.model_validate(response.json())
    assert graph.device == "cpu" and graph.nodes and graph.edges


def test_repeat_requests_hit_the_cache(api: Any) -> None:
    program = QUICK + "z = y * 2\n"
    first = api.graph(program, seed=11)
    hits = api.get("/api/health").json()["cache"]["hits"]
    second = api.graph(program, seed=11)
    assert first.content == second.content
    assert api.get("/api/health").json()["cache"]["hits"] == hits + 1


def test_large_results_are_gzipped(api: Any) -> None:
    program = "w = torch.randn(20, 20, requires_grad=True)\ny = (w @ w).sum()\ny.backward()\n"
    response = api.post("/api/graph", json={"source": program}, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["nodes"]  # httpx decompresses
    plain = api.post("/api/graph", json={"source": program}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == response.json()


def test_export_formats(api: Any) -> None:
    expected = {"json": "application/json", "dot": "text/vnd.graphviz", "graphml": "application/graphml+xml",
                "node-link": "application/json"}
    for fmt, media in expected.items():
        response = api.post(f"/api/export?format={fmt}", json={"source": QUICK})
        assert response.status_code == 200, (fmt, response.text)
        assert response.headers["content-type"].startswith(media)
        assert "attachment" in response.headers["content-disposition"]
    dot = api.post("/api/export?format=dot", json={"source": QUICK}).text
    assert dot.lstrip().startswith(("digraph", "strict"))
    assert "<graphml" in api.post("/api/export?format=graphml", json={"source": QUICK}).text
    assert api.post("/api/export?format=pdf", json={"source": QUICK}).status_code == 422


def test_devices_lists_cpu_and_the_default(api: Any) -> None:
    body = api.get("/api/devices").json()
    assert body["default"] == "cpu"
    cpu = body["devices"][0]
    assert cpu["id"] == "cpu" and cpu["kind"] == "cpu" and cpu["name"]
    for device in body["devices"][1:]:
        assert device["kind"] == "cuda" and device["memory_bytes"] > 0


def test_auto_device_runs(api: Any) -> None:
    response = api.graph(QUICK, device="auto")
    assert response.status_code == 200
    ids = [d["id"] for d in api.get("/api/devices").json()["devices"]]
    assert response.json()["device"].split(":")[0] == ("cuda" if len(ids) > 1 else "cpu")


def test_examples_carry_both_languages_and_no_test_keys(api: Any) -> None:
    examples = api.get("/api/examples").json()["examples"]
    assert examples
    for example in examples:
        assert {"id", "title", "source"} <= example.keys()
        assert set(example["title"]) >= {"en", "ko"}
        assert not any(key.startswith("expect") for key in example)


def test_schema_is_the_graph_schema(api: Any) -> None:
    schema = api.get("/api/schema").json()
    assert schema["title"] == "GraphModel" and "nodes" in schema["properties"]


def test_health_reports_the_pool(api: Any) -> None:
    body = api.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["workers"]["total"] == 2
    assert {"ready", "busy", "queued", "queue_capacity", "restarts"} <= body["workers"].keys()
    assert any("RLIMIT_FSIZE" in line for line in body["enforced"])


def test_openapi_and_docs(api: Any) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    names = ("graph", "export", "devices", "examples", "schema", "health")
    assert {f"/api/{name}" for name in names} <= set(paths)
    docs = api.get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]


def test_security_headers_everywhere(api: Any) -> None:
    for response in (api.get("/api/health"), api.get("/"), api.graph("import os")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "worker-src 'self' blob:" in csp
        assert "unsafe-eval" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "access-control-allow-origin" not in response.headers


def test_unknown_api_path_is_404(api: Any) -> None:
    for response in (api.get("/api/nothing"), api.get("/api/graph")):
        assert response.status_code in (404, 405)
        assert response.json()["error"]["code"] == "service_not_found"


def test_identical_requests_share_one_run(api: Any) -> None:
    program = QUICK + "w = y * 7\n"
    served = api.get("/api/health").json()["workers"]["served"]
    responses = api.gather(api.client.post("/api/graph", json={"source": program}) for _ in range(10))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert api.get("/api/health").json()["workers"]["served"] == served + 1
