"""The REST endpoints. Handlers stay thin: programs run in the worker pool."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gradtrace import __version__
from gradtrace.api.errors import RateLimited, error_dict
from gradtrace.api.lang import pick_lang
from gradtrace.api.models import GraphRequest
from gradtrace.api.responses import fixed_response, json_response, result_response
from gradtrace.core.errors import GradtraceError
from gradtrace.export.formats import FORMATS, FormatName
from gradtrace.service import GraphService, Job, Overloaded, RateLimiter, Result, Settings, WorkerPool

router = APIRouter(prefix="/api")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "a problem with the program: {error: {type, code, message, hint, line, col, ...}}"},
    413: {"description": "request body over the size cap"},
    422: {"description": "malformed request"},
    429: {"description": "rate limited (see Retry-After)"},
    503: {"description": "queue full or workers starting (see Retry-After)"},
}
_GRAPH_200 = {"description": "the graph JSON (JSON Schema at /api/schema)",
              "content": {"application/json": {}}}


@router.post("/graph", response_class=Response, responses={200: _GRAPH_200, **_ERRORS})
async def graph(body: GraphRequest, request: Request) -> Response:
    """Run the program and return its autograd graph."""
    result = await _run(body, request, "json")
    return result_response(request, result)


@router.post("/export", response_class=Response, responses={200: {"description": "the graph"}, **_ERRORS})
async def export(
    body: GraphRequest, request: Request,
    format: Annotated[FormatName, Query(description="output format")] = "json",
) -> Response:
    """Run the program and return its graph as JSON, Graphviz DOT, GraphML or node-link JSON."""
    result = await _run(body, request, format)
    return result_response(request, result, filename=f"gradtrace.{FORMATS[format].extension}")


@router.get("/devices")
async def devices(request: Request) -> Response:
    """The devices programs may run on here, and the default."""
    listed = await _devices(request)
    settings: Settings = request.app.state.settings
    ids = [d["id"] for d in listed]
    default = settings.default_device if settings.default_device in ids else "cpu"
    return json_response({"devices": listed, "default": default})


@router.get("/examples")
async def examples(request: Request) -> Response:
    """The curriculum examples: titles and notes in English and Korean, the program, its device."""
    return fixed_response(request, _examples_body())


@router.get("/schema")
async def schema(request: Request) -> Response:
    """The JSON Schema of the graph that /api/graph returns."""
    return fixed_response(request, _schema_body())


@router.get("/health")
async def health(request: Request) -> Response:
    """Liveness, worker-pool state and what the workers enforce."""
    pool: WorkerPool = request.app.state.pool
    graphs: GraphService = request.app.state.graphs
    workers = pool.state()
    status = "ok" if workers["ready"] + workers["busy"] > 0 else "starting"
    guard = getattr(request.app.state, "connections", None)  # set by `gradtrace serve`
    return json_response({
        "status": status, "version": __version__, "workers": workers,
        "cache": graphs.cache.state(), "timeout_s": pool.settings.timeout,
        "enforced": pool.stats.enforced, "connections": guard.state() if guard is not None else None,
    })


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def not_found(path: str, request: Request) -> Response:
    """Unknown API paths get a JSON 404 rather than the web app's files."""
    lang = pick_lang(None, request.headers.get("accept-language"))
    return json_response({"error": error_dict("not_found", "service_not_found", lang, path=f"/api/{path}")},
                         status=404)


async def _run(body: GraphRequest, request: Request, fmt: str) -> Result:
    """The rate limit, then the program's result, run in its client's line if it must run
    (see service.fairqueue); clients this machine does not tell apart share one line."""
    limiter: RateLimiter = request.app.state.limiter
    client = request.client.host if request.client else None
    wait = limiter.check(client or "unknown")
    if wait:
        raise RateLimited(wait)
    line = None if client is None or limiter.exempt(client) else client
    graphs: GraphService = request.app.state.graphs
    return await graphs.run(await _job(body, request, fmt), line)


async def _job(body: GraphRequest, request: Request, fmt: str) -> Job:
    lang = pick_lang(body.lang, request.headers.get("accept-language"))
    device = await _resolve_device(request, body.device, lang)
    seed = 0 if body.seed is None else body.seed
    return Job(source=body.source, device=device, output=body.output, backward=body.backward,
               seed=seed, format=fmt, lang=lang)


async def _devices(request: Request) -> list[dict[str, Any]]:
    pool: WorkerPool = request.app.state.pool
    settings: Settings = request.app.state.settings
    if pool.devices is None and not await pool.wait_ready(30.0):
        raise Overloaded(5, "service_not_ready")
    return [d for d in pool.devices or [] if settings.device_allowed(d["id"])]


async def _resolve_device(request: Request, device: str, lang: str) -> str:
    """``auto`` → the first allowed CUDA device, else cpu; refuse devices turned off here."""
    settings: Settings = request.app.state.settings
    if device == "auto":
        cuda = [d["id"] for d in await _devices(request) if d["kind"] == "cuda"]
        return cuda[0] if cuda else "cpu"
    if not settings.device_allowed(device):
        raise GradtraceError("not_allowed", "service_device_not_allowed", {"device": device})
    return device


@cache
def _examples_body() -> bytes:
    import orjson

    try:
        from gradtrace.core.curriculum import examples as load
        items = load()
    except (OSError, ValueError, KeyError):
        items = []
    public = [{k: v for k, v in item.items() if not k.startswith("expect")} for item in items]
    return orjson.dumps({"examples": public})


@cache
def _schema_body() -> bytes:
    import orjson

    from gradtrace.schema import json_schema

    return orjson.dumps(json_schema())


__all__ = ["error_dict", "router"]
