"""Results in front of the pool: an LRU cache and coalescing of identical requests.

A program's result is a pure function of (source, device, output, backward, seed):
the seed defaults to 0 and every program is seeded. So the parent can keep recent
results and answer repeats without a worker. In a class, thirty students opening the
same example cost one worker run, not thirty. The format and the language are not part
of that key: a worker always returns the graph as JSON and its errors in both languages,
and the parent renders DOT, GraphML or node-link from the graph (``export.formats.render_json``, the
table the CLI uses too) and picks the error's language, so an English and a Korean
student, or a graph and its DOT download, cost one run.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from gradtrace.export.formats import FORMATS, render_json
from gradtrace.service.pool import Outcome, WorkerPool
from gradtrace.service.protocol import Job


@dataclass(slots=True)
class Result:
    """An HTTP-ready answer: status, body and type, with a gzip copy made once."""

    status: int
    body: bytes
    media_type: str
    _gz: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_outcome(cls, job: Job, outcome: Outcome) -> Result:
        if outcome.error is None:
            return cls(200, outcome.body, FORMATS[job.format].media_type, outcome.gzipped)
        return cls(400, json.dumps({"error": outcome.error}).encode("ascii"), "application/json")

    def gzipped(self) -> bytes:
        """The gzip copy: the worker's (made off the event loop) for program results, else
        made here once (error bodies, a few hundred bytes)."""
        if self._gz is None:
            self._gz = gzip.compress(self.body, compresslevel=5, mtime=0)
        return self._gz

    @property
    def size(self) -> int:
        return len(self.body) + (len(self._gz) if self._gz else 0)


class ResultCache:
    """Least-recently-used results, bounded by count and by bytes."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Any, ...], Result] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> Result | None:
        result = self._items.get(key)
        if result is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return result

    def put(self, key: tuple[Any, ...], result: Result) -> None:
        if self.max_entries == 0 or result.size > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= _cost(key, old)
        self._items[key] = result
        self._bytes += _cost(key, result)
        while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
            evicted_key, evicted = self._items.popitem(last=False)
            self._bytes -= _cost(evicted_key, evicted)

    def state(self) -> dict[str, int]:
        return {"entries": len(self._items), "bytes": self._bytes, "capacity": self.max_entries,
                "hits": self.hits, "misses": self.misses}


def _cost(key: tuple[Any, ...], result: Result) -> int:
    # The gzip copy is made after insertion; count a generous share of it up front.
    return len(key[0]) + len(result.body) + len(result.body) // 4 + 256


class GraphService:
    """Cache → coalesce → pool. What the HTTP layer calls to get a program's result."""

    def __init__(self, pool: WorkerPool, cache: ResultCache) -> None:
        self.pool = pool
        self.cache = cache
        self._inflight: dict[tuple[Any, ...], asyncio.Task[Result]] = {}

    async def run(self, job: Job, client: str | None = None) -> Result:
        """The job's result; ``client`` is the line it waits in if it must run (see FairQueue)."""
        program = replace(job, format="json", lang="en")
        result = await self._program_result(program, client)
        if result.status == 400:
            return _error_in(result, job.lang)
        if result.status != 200 or job.format == "json":
            return result
        key = job.key()
        cached = self.cache.get(key)
        if cached is None:
            body = await asyncio.to_thread(_rendered, result.body, job.format)
            cached = Result(200, body, FORMATS[job.format].media_type)
            self.cache.put(key, cached)
        return cached

    async def _program_result(self, job: Job, client: str | None) -> Result:
        """The graph (JSON) or error of a program: cached, shared by identical requests."""
        key = job.key()
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._compute(job, key, client))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        # shield: a client that goes away does not cancel the run the others wait for
        return await asyncio.shield(task)

    async def _compute(self, job: Job, key: tuple[Any, ...], client: str | None) -> Result:
        outcome = await self.pool.run(job, client)
        result = Result.from_outcome(job, outcome)
        if outcome.cacheable:
            self.cache.put(key, result)
        return result


def _rendered(graph_json: bytes, fmt: str) -> bytes:
    """Another format of a graph the worker returned as JSON (off the event loop)."""
    return render_json(graph_json, fmt)


def _error_in(result: Result, lang: str) -> Result:
    """An error answer with its message and hint in the request's language (both travel in ``messages``)."""
    if lang == "en":
        return result
    body = json.loads(result.body)
    error = body.get("error", {})
    text = (error.get("messages") or {}).get(lang)
    if not text:
        return result
    error.update(message=text.get("message") or error.get("message"), hint=text.get("hint"), lang=lang)
    return Result(400, json.dumps(body).encode("ascii"), result.media_type)
