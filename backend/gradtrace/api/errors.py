"""Every error the API sends has one shape: ``{"error": {type, code, message, hint, line, col, ...}}``.

User-input problems are 400s with the stage's typed error; malformed requests 422;
overload 429/503 with ``Retry-After``; an oversize body 413. A 500 only ever means
a bug in gradtrace, never something a user typed.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gradtrace.api.lang import pick_lang
from gradtrace.api.responses import json_response
from gradtrace.core.errors import ErrorType, GradtraceError
from gradtrace.service import ClientBusy, Overloaded

log = logging.getLogger("gradtrace.api")


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


def error_dict(type_: str, code: str, lang: str, **params: Any) -> dict[str, Any]:
    """A service error in the same shape as a stage's ``GradtraceError.to_dict``."""
    known: ErrorType = type_ if type_ in {"syntax", "not_allowed", "limit", "runtime"} else "runtime"  # type: ignore[assignment]
    data = GradtraceError(known, code, params).to_dict(lang)
    data["type"] = type_
    return data


def request_lang(request: Request) -> str:
    return pick_lang(None, request.headers.get("accept-language"))


def _validation_problem(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    details = [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in exc.errors()[:20]
    ]
    problem = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:3]) or "invalid body"
    return problem, details


async def on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problem, details = _validation_problem(exc)
    error = error_dict("request", "service_invalid_request", request_lang(request), problem=problem)
    return json_response({"error": error, "detail": details}, status=422)


async def on_gradtrace(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GradtraceError)
    return json_response({"error": exc.to_dict(request_lang(request))}, status=400)


async def on_overloaded(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Overloaded)
    error = error_dict("overloaded", exc.code, request_lang(request), seconds=exc.retry_after)
    return json_response({"error": error}, status=503, headers={"Retry-After": str(exc.retry_after)})


async def on_client_busy(request: Request, exc: Exception) -> Response:
    """One client's full line is that client's problem: 429, not the server's 503."""
    assert isinstance(exc, ClientBusy)
    error = error_dict("rate_limited", exc.code, request_lang(request), seconds=exc.retry_after,
                       waiting=exc.waiting)
    return json_response({"error": error}, status=429, headers={"Retry-After": str(exc.retry_after)})


async def on_rate_limited(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited)
    error = error_dict("rate_limited", "service_rate_limited", request_lang(request), seconds=exc.retry_after)
    return json_response({"error": error}, status=429, headers={"Retry-After": str(exc.retry_after)})


async def on_http(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (404, 405, a body it could not parse) in the common shape.

    A body that is not parseable JSON (e.g. nested too deeply) is a malformed request: 422.
    """
    assert isinstance(exc, StarletteHTTPException)
    lang = request_lang(request)
    if exc.status_code == 400:
        error = error_dict("request", "service_invalid_request", lang, problem=str(exc.detail))
        return json_response({"error": error}, status=422)
    data = GradtraceError("runtime", f"http_{exc.status_code}", detail=str(exc.detail)).to_dict(lang)
    data["type"] = "request"
    return json_response({"error": data}, status=exc.status_code, headers=dict(exc.headers or {}))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    error = error_dict("internal", "internal", request_lang(request))
    return json_response({"error": error}, status=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(GradtraceError, on_gradtrace)
    app.add_exception_handler(ClientBusy, on_client_busy)
    app.add_exception_handler(Overloaded, on_overloaded)
    app.add_exception_handler(RateLimited, on_rate_limited)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
