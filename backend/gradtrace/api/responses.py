"""JSON responses encoded with orjson, and the cached-result response with its gzip copy."""

from __future__ import annotations

import gzip
import json
from functools import cache
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from gradtrace.service import Result

GZIP_MIN = 1024


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    try:
        body = orjson.dumps(data)
    except TypeError:  # e.g. a lone surrogate quoted from the request: stdlib json escapes it
        body = json.dumps(data, default=str).encode("ascii")
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def result_response(request: Request, result: Result, filename: str | None = None) -> Response:
    """Send a program's result; gzip it (once per cached result) when the client accepts gzip."""
    headers = {"Vary": "Accept-Encoding"}
    if filename is not None and result.status == 200:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    body = result.body
    if len(body) >= GZIP_MIN and "gzip" in request.headers.get("accept-encoding", ""):
        body = result.gzipped()
        headers["Content-Encoding"] = "gzip"
    return Response(body, status_code=result.status, media_type=result.media_type, headers=headers)


@cache
def _gzipped(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=9, mtime=0)


def fixed_response(request: Request, body: bytes) -> Response:
    """A JSON body that never changes while the server runs (examples, schema): compressed
    once, instead of on the event loop for every request."""
    if len(body) < GZIP_MIN or "gzip" not in request.headers.get("accept-encoding", ""):
        return Response(body, media_type="application/json", headers={"Vary": "Accept-Encoding"})
    return Response(_gzipped(body), media_type="application/json",
                    headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
