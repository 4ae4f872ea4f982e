"""The web app's files (``frontend/dist``), or a plain page saying it is not built yet.

The frontend build writes a ``.gz`` next to each large file; those are sent as they are
to clients that accept gzip, so the 1.6 MB layout worker is never compressed per request.
"""

from __future__ import annotations

import mimetypes
from html import escape
from pathlib import Path

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>gradtrace</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>gradtrace: the web app is not built</h1>
<p>The API is running (<a href="/docs">/docs</a>, <a href="/api/health">/api/health</a>),
but there are no frontend files in <code>{path}</code>.</p>
<p>Run <code>./scripts/setup.sh</code> (or <code>./scripts/run.sh</code>) to build them, or point
<code>GRADTRACE_STATIC_DIR</code> at a built <code>frontend/dist</code>.</p></body></html>"""


MAX_PATH_BYTES = 1024
MAX_NAME_BYTES = 255
_ENCODED_SEPARATORS = (b"%2f", b"%5c", b"%00")


def nameable(scope: Scope) -> bool:
    """Whether the request's path could name a file at all. Not: NUL and control bytes,
    backslashes, separators sent encoded (``%2F``), names longer than file systems allow.

    Checked before the file system is asked, and such paths are a plain 404: ``Path.resolve``
    raises ``ValueError`` on a NUL byte and ``stat`` raises ``ENAMETOOLONG`` on a long
    name, and either would otherwise be a 500.
    """
    path: str = scope["path"]
    raw = bytes(scope.get("raw_path") or b"").lower()
    if any(ord(c) < 32 or c in "\\\x7f" for c in path) or any(s in raw for s in _ENCODED_SEPARATORS):
        return False
    encoded = path.encode("utf-8", "surrogatepass")
    return len(encoded) <= MAX_PATH_BYTES and all(len(part) <= MAX_NAME_BYTES for part in encoded.split(b"/"))


class Frontend:
    """Serves the built app; looks for it on each request until it appears, so a
    build that finishes after the server started needs no restart."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: StaticFiles | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not nameable(scope):
            raise HTTPException(404)
        if self._files is None and (self.directory / "index.html").is_file():
            self._files = StaticFiles(directory=self.directory, html=True)
        if self._files is None:
            page = NOT_BUILT.format(path=escape(str(self.directory)))
            await HTMLResponse(page, status_code=503)(scope, receive, send)
            return
        response = self._precompressed(scope)
        if response is not None:
            await response(scope, receive, send)
            return
        await self._files(scope, receive, send)

    def _precompressed(self, scope: Scope) -> Response | None:
        """The file's ``.gz`` twin, for a GET/HEAD that accepts gzip; None otherwise."""
        headers = Headers(scope=scope)
        if scope["method"] not in {"GET", "HEAD"} or "gzip" not in headers.get("accept-encoding", ""):
            return None
        relative = scope["path"].lstrip("/")
        if relative == "" or relative.endswith("/"):
            relative += "index.html"
        root = self.directory.resolve()
        original = (root / relative).resolve()
        packed = original.with_name(original.name + ".gz")
        if not original.is_relative_to(root) or not original.is_file() or not packed.is_file():
            return None
        media_type = mimetypes.guess_type(original.name)[0] or "application/octet-stream"
        response = FileResponse(packed, media_type=media_type, stat_result=packed.stat(),
                                headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        etag = response.headers.get("etag")
        if etag and headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag, "Vary": "Accept-Encoding"})
        return response
