"""The frontend is served from its folder, gzipped; without it a plain page says so."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from gradtrace.api.static import Frontend


def _get(app: Frontend, path: str, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(go())


def test_missing_build_gives_a_clear_page(tmp_path: Path) -> None:
    response = _get(Frontend(tmp_path / "dist"), "/")
    assert response.status_code == 503
    assert "not built" in response.text and "scripts/setup.sh" in response.text


def test_built_app_is_served_and_found_without_restart(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    app = Frontend(dist)
    assert _get(app, "/").status_code == 503
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>gradtrace</title>")
    (dist / "assets" / "app.js").write_text("console.log('x');" * 1000)
    assert "gradtrace" in _get(app, "/").text
    assert _get(app, "/assets/app.js").headers["content-type"].startswith(("text/javascript",
                                                                          "application/javascript"))


def test_the_app_gzips_static_files(api) -> None:  # type: ignore[no-untyped-def]
    response = api.get("/", headers={"Accept-Encoding": "gzip"})
    if response.status_code == 200 and len(response.content) >= 1024:
        assert response.headers.get("content-encoding") == "gzip"
