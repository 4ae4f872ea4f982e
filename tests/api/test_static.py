"""The frontend is served from its folder, gzipped; without it a plain page says so."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from starlette.exceptions import HTTPException

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


def test_precompressed_files_are_sent_as_they_are(tmp_path: Path) -> None:
    import gzip

    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>gradtrace</title>")
    script = "console.log('layout');" * 500
    (dist / "worker.js").write_text(script)
    (dist / "worker.js.gz").write_bytes(gzip.compress(script.encode()))
    (tmp_path / "secret.txt").write_text("no")
    (tmp_path / "secret.txt.gz").write_bytes(gzip.compress(b"no"))
    app = Frontend(dist)
    packed = _get(app, "/worker.js", **{"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.text == script
    assert packed.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    again = _get(app, "/worker.js", **{"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]})
    assert again.status_code == 304
    plain = _get(app, "/worker.js", **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == script
    try:  # StaticFiles raises its 404 (the app's exception handler answers it)
        outside = _get(app, "/../secret.txt", **{"Accept-Encoding": "gzip"}).status_code
    except HTTPException as exc:
        outside = exc.status_code
    assert outside == 404
