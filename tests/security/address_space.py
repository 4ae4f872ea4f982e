"""An address-space ceiling around the runs the security tests make."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager

PAGE = os.sysconf("SC_PAGE_SIZE")
SAFETY_NET = 3 * 2**30  # address space allowed above the current size


@contextmanager
def address_space_limit(safety_net: int = SAFETY_NET) -> Iterator[None]:
    """A gap in the sandbox's limits must fail a case, not exhaust the shared machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        ceiling = int(statm.read().split()[0]) * PAGE + safety_net
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
