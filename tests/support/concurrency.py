"""Running one operation from several threads at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def race(n: int, fn: Callable[[int], T]) -> list[T]:
    """Call ``fn(0)`` … ``fn(n - 1)`` on ``n`` threads released together; their results in order.
    An exception in any call is raised here."""
    barrier = threading.Barrier(n)

    def attempt(i: int) -> T:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(attempt, range(n)))
