"""Settings, the worker-process pool, the result cache and rate limiting.

Nothing here imports torch in the server process: only workers do.
"""

from gradtrace.service.pool import ClientBusy, Outcome, Overloaded, WorkerPool
from gradtrace.service.protocol import Job
from gradtrace.service.ratelimit import RateLimiter
from gradtrace.service.results import GraphService, Result, ResultCache
from gradtrace.service.settings import Settings, describe_options

__all__ = [
    "ClientBusy", "GraphService", "Job", "Outcome", "Overloaded", "RateLimiter", "Result", "ResultCache",
    "Settings", "WorkerPool", "describe_options",
]
