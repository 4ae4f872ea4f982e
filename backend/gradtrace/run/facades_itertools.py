"""``itertools`` as tutorials use it (``product`` over hyper-parameters, ``chain`` of parameter
lists, ``islice`` of a loader), each result computed at once inside the budget.

Like ``map`` and generators here, every function returns a finished ``ListIterator``; the
size of a combinatorial result (``product``, ``permutations``, ``combinations``) is counted
from its inputs before any item is made. The endless ones (``count``, ``cycle``, ``repeat``
without ``times``) are not offered: a finished list of them does not exist.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from gradtrace.run import budget
from gradtrace.run.iterators import ListIterator
from gradtrace.run.values import Facade, Func
from gradtrace.sandbox import check_sequence


def _sized(count: int) -> None:
    """A result of ``count`` items is about to be made: refuse it first when too long."""
    check_sequence(count, budget.budget().limits)
    budget.budget().step(count)


def _items(value: Any, name: str) -> list[Any]:
    from gradtrace.run.builtins_iter import items_of  # the builtins import the facades

    return items_of(value, f"the arguments of itertools.{name}()")


def _call(function: Any, *args: Any) -> Any:
    from gradtrace.run.calls import call

    return call(function, args, {})


def _product(*iterables: Any, repeat: int = 1) -> ListIterator:
    pools = [_items(value, "product") for value in iterables]
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 0:
        raise TypeError("repeat must be a non-negative integer")
    count = math.prod(len(pool) for pool in pools)
    _sized(count**repeat if count > 1 else count)
    return ListIterator(list(itertools.product(*pools, repeat=repeat)), "product")


def _chosen(name: str, size: Any) -> Any:
    make = getattr(itertools, name)

    def choose(iterable: Any, r: int | None = None) -> ListIterator:
        pool = _items(iterable, name)
        n = len(pool)
        k = n if r is None else r
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise TypeError("r must be a non-negative integer")
        _sized(size(n, k))
        return ListIterator(list(make(pool, k)), name)

    return choose


def _chain(*iterables: Any) -> ListIterator:
    pools = [_items(value, "chain") for value in iterables]
    _sized(sum(len(pool) for pool in pools))
    return ListIterator([item for pool in pools for item in pool], "chain")


def _islice(iterable: Any, *bounds: Any) -> ListIterator:
    pool = _items(iterable, "islice")
    return ListIterator(list(itertools.islice(pool, *bounds)), "islice")


def _repeat(value: Any, times: int) -> ListIterator:
    if isinstance(times, bool) or not isinstance(times, int):
        raise TypeError("times must be an integer (an endless repeat is not offered)")
    _sized(max(times, 0))
    return ListIterator([value] * max(times, 0), "repeat")


def _accumulate(iterable: Any, func: Any = None, *, initial: Any = None) -> ListIterator:
    pool = _items(iterable, "accumulate")
    out: list[Any] = [] if initial is None else [initial]
    for item in pool:
        if not out:
            out.append(item)
        else:
            out.append(out[-1] + item if func is None else _call(func, out[-1], item))
        budget.budget().step()
    return ListIterator(out, "accumulate")


def _zip_longest(*iterables: Any, fillvalue: Any = None) -> ListIterator:
    pools = [_items(value, "zip_longest") for value in iterables]
    _sized(max((len(pool) for pool in pools), default=0))
    return ListIterator(list(itertools.zip_longest(*pools, fillvalue=fillvalue)), "zip_longest")


def _pairwise(iterable: Any) -> ListIterator:
    return ListIterator(list(itertools.pairwise(_items(iterable, "pairwise"))), "pairwise")


def _starmap(function: Any, iterable: Any) -> ListIterator:
    rows = _items(iterable, "starmap")
    budget.budget().expect(len(rows), len(rows))
    return ListIterator([_call(function, *row) for row in rows], "starmap")


def _compress(data: Any, selectors: Any) -> ListIterator:
    pairs = zip(_items(data, "compress"), _items(selectors, "compress"), strict=False)
    return ListIterator([item for item, keep in pairs if keep], "compress")


def _predicate(name: str) -> Any:
    def select(predicate: Any, iterable: Any) -> ListIterator:
        pool = _items(iterable, name)
        tests = iter(pool)
        out: list[Any] = []
        for item in tests:
            passed = bool(_call(predicate, item))
            if name == "filterfalse":
                if not passed:
                    out.append(item)
            elif name == "takewhile":
                if not passed:
                    break
                out.append(item)
            elif not passed:  # dropwhile: the first failure and everything after it
                out.append(item)
                out.extend(tests)
                break
        return ListIterator(out, name)

    return select


def _groupby(iterable: Any, key: Any = None) -> ListIterator:
    pool = _items(iterable, "groupby")
    keys = pool if key is None else [_call(key, item) for item in pool]
    groups: list[tuple[Any, ListIterator]] = []
    for k, item in zip(keys, pool, strict=True):
        if not groups or groups[-1][0] != k:
            groups.append((k, ListIterator([], "grouper")))
        groups[-1][1].items.append(item)
    return ListIterator(groups, "groupby")


def _offered() -> dict[str, Any]:
    return {
        "product": (_product, {"repeat"}),
        "permutations": (_chosen("permutations", lambda n, k: math.perm(n, k) if k <= n else 0), {"r"}),
        "combinations": (_chosen("combinations", math.comb), {"r"}),
        "combinations_with_replacement": (
            _chosen("combinations_with_replacement", lambda n, k: math.comb(n + k - 1, k) if n else 0),
            {"r"},
        ),
        "chain": (_chain, set()),
        "islice": (_islice, set()),
        "repeat": (_repeat, {"times"}),
        "accumulate": (_accumulate, {"func", "initial"}),
        "zip_longest": (_zip_longest, {"fillvalue"}),
        "pairwise": (_pairwise, set()),
        "starmap": (_starmap, set()),
        "compress": (_compress, set()),
        "takewhile": (_predicate("takewhile"), set()),
        "dropwhile": (_predicate("dropwhile"), set()),
        "filterfalse": (_predicate("filterfalse"), set()),
        "groupby": (_groupby, {"key"}),
    }


def _itertools_facade() -> Facade:
    members: dict[str, object] = {
        name: Func(f"itertools.{name}", impl, kwargs=frozenset(keywords), accepts="any")
        for name, (impl, keywords) in _offered().items()
    }
    return Facade("itertools", members)


ITERTOOLS = _itertools_facade()

