"""Run the app under uvicorn on a socket bound here, so the printed URL is one that works.

Binding first means ``--port 0`` picks a free port (and the real one is printed),
and a port already in use is a clear one-line error instead of a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys

import uvicorn

from gradtrace.api.app import create_app
from gradtrace.api.connections import ConnectionGuard, FoldIntoTally, raise_open_file_limit
from gradtrace.api.protocol import guarded_protocol
from gradtrace.service import Settings


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on such sockets, and
    # without it Nagle + delayed ACK add 40 ms to every response
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def public_url(host: str, port: int) -> str:
    """The URL to open: for 0.0.0.0 the machine's LAN address (what students type)."""
    shown = host
    if host in {"0.0.0.0", "::"}:
        shown = _lan_address() or "127.0.0.1"
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _lan_address() -> str | None:
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
        address: str = probe.getsockname()[0]
        return address
    return None


def serve(settings: Settings) -> int:
    try:
        sock = bind(settings.host, settings.port)
    except OSError as exc:
        print(f"gradtrace: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    guard = ConnectionGuard(settings, raise_open_file_limit())
    app = create_app(settings)
    app.state.connections = guard  # /api/health reports it
    config = uvicorn.Config(
        app, log_level=settings.log_level.lower(), access_log=settings.access_log,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None, server_header=False,
        timeout_graceful_shutdown=5, http=guarded_protocol(guard),
        timeout_keep_alive=settings.idle_timeout,  # type: ignore[arg-type]  # uvicorn hands it to call_later
    )
    logging.getLogger("uvicorn.error").addFilter(FoldIntoTally(guard.tally))
    print(f"gradtrace serving at {public_url(settings.host, port)}  (API docs: /docs)", flush=True)
    if settings.host in {"0.0.0.0", "::"}:
        print(f"listening on all interfaces, port {port}", flush=True)
    with sock, contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after shutting down
        asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    return 0
