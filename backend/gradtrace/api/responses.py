"""JSON responses encoded with orjson, and the cached-result response with its gzip copy."""

from __future__ import annotations

import json
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
