"""The web app's files (``frontend/dist``), or a plain page saying it is not built yet."""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>gradtrace</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>gradtrace: the web app is not built</h1>
<p>The API is running (<a href="/docs">/docs</a>, <a href="/api/health">/api/health</a>),
but there are no frontend files in <code>{path}</code>.</p>
<p>Run <code>./scripts/setup.sh</code> (or <code>./scripts/run.sh</code>) to build them, or point
<code>GRADTRACE_STATIC_DIR</code> at a built <code>frontend/dist</code>.</p></body></html>"""


class Frontend:
    """Serves the built app; looks for it on each request until it appears, so a
    build that finishes after the server started needs no restart."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: StaticFiles | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._files is None and (self.directory / "index.html").is_file():
            self._files = StaticFiles(directory=self.directory, html=True)
        if self._files is None:
            page = NOT_BUILT.format(path=escape(str(self.directory)))
            await HTMLResponse(page, status_code=503)(scope, receive, send)
            return
        await self._files(scope, receive, send)
