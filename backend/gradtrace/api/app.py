"""``create_app(settings)``: the FastAPI app with its pool, cache, limits and static files."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from gradtrace import __version__
from gradtrace.api.errors import install_error_handlers
from gradtrace.api.middleware import BodyLimit, SecurityHeaders
from gradtrace.api.routes import router
from gradtrace.api.static import Frontend
from gradtrace.core.limits import Limits
from gradtrace.service import GraphService, RateLimiter, ResultCache, Settings, WorkerPool

log = logging.getLogger("gradtrace.api")

DESCRIPTION = """Run a PyTorch program in a sandbox and get its autograd graph: every tensor,
every op, every forward value and every gradient. Errors are 400s with the line and
column of the problem, in English or Korean."""


def create_app(settings: Settings | None = None, *, harden: bool = True,
               program_limits: Limits | None = None) -> FastAPI:
    """Build the app; its worker pool starts with the app's lifespan (in the background).

    ``harden`` and ``program_limits`` exist for tests (see :class:`WorkerPool`).
    """
    settings = settings or Settings.load()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = WorkerPool(settings, harden=harden, program_limits=program_limits)
        cache = ResultCache(settings.cache_entries, settings.cache_mb << 20)
        app.state.pool = pool
        app.state.graphs = GraphService(pool, cache)
        await pool.start()
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="gradtrace", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url="/docs", redoc_url=None)
    app.state.settings = settings
    app.state.limiter = RateLimiter(settings.rate_limit, settings.rate_burst,
                                    exempt_loopback=not settings.rate_limit_localhost)
    install_error_handlers(app)
    app.include_router(router)
    if settings.cors_list():
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_list(),
                           allow_methods=["GET", "POST"], allow_headers=["Content-Type"])
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_kb * 1024)
    app.add_middleware(SecurityHeaders)
    app.mount("/", Frontend(settings.frontend_dir()), name="frontend")
    return app
