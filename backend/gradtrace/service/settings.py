"""The server's configuration, in one place: every option is a flag and an env var.

Each field of :class:`Settings` carries its help text; the CLI builds its
``gradtrace serve`` flags from these fields and ``GRADTRACE_<NAME>`` environment
variables fill the same fields, so a flag, its variable and the documentation can
never drift apart. Defaults are safe for a shared classroom server: local-only
binding, one torch thread per worker, a 5 s wall clock and a 2 GiB memory budget
per program, a per-client rate limit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from gradtrace.core.limits import DEFAULT_LIMITS, Limits

ENV_PREFIX = "GRADTRACE_"


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """One worker per core (at most 8): each runs torch on one thread."""
    return max(1, min(_cores(), 8))


def _opt(help_text: str, parse: Callable[[str], Any] = str, **kwargs: Any) -> Any:
    return field(metadata={"help": help_text, "parse": parse}, **kwargs)


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = _opt("address to listen on (0.0.0.0 to serve a classroom LAN)", default="127.0.0.1")
    port: int = _opt("TCP port", int, default=8000)
    workers: int = _opt("worker processes that run programs", int,
                        default_factory=default_workers)
    threads: int = _opt("torch threads per worker", int, default=1)
    queue: int = _opt("requests waiting for a worker before new ones get 503", int, default=64)
    client_queue: int = _opt("requests one client (IP address) may have waiting; past it 429 "
                             "(clients on this machine share one uncapped line)", int, default=16)
    client_workers: int = _opt("workers one client (IP address) may hold at once; 0: all but one "
                               "(raise it when a whole class reaches the server from one address)",
                               int, default=0)
    timeout: float = _opt("wall-clock seconds one program may run; the worker is killed past it", float,
                          default=DEFAULT_LIMITS.wall_seconds)
    memory_mb: int = _opt("memory budget of a worker in MiB, on top of what torch itself takes", int,
                          default=DEFAULT_LIMITS.memory_mb)
    recycle: int = _opt("programs a worker runs before it is replaced by a fresh one", int, default=200)
    devices: str = _opt("devices programs may use: 'all', or a list such as 'cpu' or 'cpu,cuda:0'",
                        default="all")
    default_device: str = _opt("device listed as the default for the web app", default="cpu")
    rate_limit: int = _opt("graph/export requests per minute per client IP; 0 turns it off", int,
                           default=120)
    rate_burst: int = _opt("requests a client may send at once before the rate applies", int,
                           default=30)
    rate_limit_localhost: bool = _opt("also rate-limit clients on this machine", _parse_bool,
                                      default=False)
    max_body_kb: int = _opt("largest request body in KiB; bigger ones get 413 before parsing", int,
                            default=128)
    max_reply_mb: int = _opt("largest reply a program may produce, in MiB; a bigger graph is a 'limit' error "
                             "that says how to shrink the program", int, default=16)
    worker_rss_mb: int = _opt("memory a worker may keep after a program, above its start-up size, in MiB; "
                              "past it (after giving freed memory back) the worker is replaced", int,
                              default=512)
    header_timeout: float = _opt("seconds a client has to send a request's line and headers; "
                                 "past it the connection is closed", float, default=10.0)
    body_timeout: float = _opt("seconds a client has to send a request's body, or to take in a reply "
                               "it stopped reading; past it the connection is closed", float, default=20.0)
    idle_timeout: float = _opt("seconds an idle keep-alive connection stays open", float, default=5.0)
    max_connections: int = _opt("open connections in all; past it new ones are refused at once "
                                "(0: 4096, fewer if the open-file limit is lower)", int, default=0)
    client_connections: int = _opt("open connections one client address may hold; past it its new ones "
                                   "are refused at once (0: no cap; trusted proxies are exempt; a class "
                                   "behind one NAT address uses a few per student)", int, default=512)
    cache_entries: int = _opt("results kept in the parent's LRU cache; 0 turns it off", int,
                              default=1024)
    cache_mb: int = _opt("memory the result cache may use, in MiB", int, default=256)
    cors_origins: str = _opt("comma-separated origins allowed by CORS; empty: no CORS headers",
                             default="")
    trusted_proxies: str = _opt("proxy addresses whose X-Forwarded-For is believed (e.g. 10.0.0.2)",
                                default="")
    static_dir: str = _opt("folder of the built frontend (default: frontend/dist of this checkout)",
                           default="")
    access_log: bool = _opt("log every request", _parse_bool, default=False)
    log_level: str = _opt("log level: debug, info, warning, error", default="info")

    def __post_init__(self) -> None:
        checks = {
            "port": 0 <= self.port <= 65535,
            "workers": 1 <= self.workers <= 256,
            "client_queue": self.client_queue >= 1,
            "client_workers": self.client_workers >= 0,
            "threads": 1 <= self.threads <= 256,
            "queue": self.queue >= 0,
            "timeout": 0 < self.timeout <= 3600,
            "memory_mb": self.memory_mb >= 64,
            "recycle": self.recycle >= 1,
            "rate_limit": self.rate_limit >= 0,
            "rate_burst": self.rate_burst >= 1,
            "max_body_kb": self.max_body_kb >= 1,
            "max_reply_mb": self.max_reply_mb >= 1,
            "worker_rss_mb": self.worker_rss_mb >= 1,
            "header_timeout": 0 < self.header_timeout <= 3600,
            "body_timeout": 0 < self.body_timeout <= 3600,
            "idle_timeout": 0 < self.idle_timeout <= 3600,
            "max_connections": self.max_connections >= 0,
            "client_connections": self.client_connections >= 0,
            "cache_entries": self.cache_entries >= 0,
            "cache_mb": self.cache_mb >= 0,
            "log_level": self.log_level.lower() in {"debug", "info", "warning", "error", "critical"},
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError("invalid settings: " + ", ".join(f"{n}={getattr(self, n)!r}" for n in bad))
        allowed = self.allowed_devices()
        if not allowed:
            raise ValueError("devices must name at least one device")

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``GRADTRACE_*`` variables, then explicit values (CLI flags).

        ``None`` in ``overrides`` means "not given", so argparse results pass straight in.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
            if name in env:
                try:
                    values[f.name] = f.metadata["parse"](env[name])
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def limits(self) -> Limits:
        """The program limits, with the server's wall clock and memory budget."""
        return DEFAULT_LIMITS.with_overrides(wall_seconds=self.timeout, memory_mb=self.memory_mb)

    def client_worker_cap(self) -> int:
        """Workers one client may hold: ``--client-workers``, else all but one (at least 1)."""
        return self.client_workers or max(1, self.workers - 1)

    def allowed_devices(self) -> tuple[str, ...]:
        """``("all",)`` or the listed device names, lower-cased."""
        items = tuple(p.strip().lower() for p in self.devices.split(",") if p.strip())
        return ("all",) if "all" in items else items

    def device_allowed(self, device: str) -> bool:
        """Whether a concrete device (``cpu``, ``cuda``, ``cuda:1``) may be used."""
        allowed = self.allowed_devices()
        if allowed == ("all",):
            return True
        if device in allowed:
            return True
        # "cuda" in the list allows every cuda device; "cuda:0" allows the bare "cuda" too.
        return device.startswith("cuda") and ("cuda" in allowed or (device == "cuda" and "cuda:0" in allowed))

    def cors_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def frontend_dir(self) -> Path:
        """Where the built web app lives: the setting, else ``frontend/dist`` of the checkout."""
        if self.static_dir:
            return Path(self.static_dir)
        return Path(__file__).resolve().parents[3] / "frontend" / "dist"


def describe_options() -> list[dict[str, str]]:
    """Flag, env var, default and meaning of every option (for ``--help`` and the docs)."""
    rows = []
    defaults = Settings()
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        shown = "one per core (≤ 8)" if f.name == "workers" else repr(default)
        rows.append({
            "name": f.name,
            "flag": "--" + f.name.replace("_", "-"),
            "env": ENV_PREFIX + f.name.upper(),
            "default": shown,
            "help": f.metadata["help"],
        })
    return rows
