"""One process-pool loop for the whole tool (the scan and the report's thumbnails), so it is written once."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def process_map(func: Callable[[Item], Result], items: Sequence[Item], jobs: int, chunksize: int,
                serial_below: int = 0) -> Iterator[Result]:
    """func over items in `jobs` worker processes, results in completion order. Runs in this process when
    jobs is 1 or there are fewer than `serial_below` items (starting workers would cost more than it saves).
    func must be a module-level function (workers are forked where the platform allows, spawned elsewhere)."""
    if not items:
        return
    if jobs <= 1 or len(items) < serial_below:
        for item in items:
            yield func(item)
        return
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with context.Pool(processes=jobs) as pool:
        yield from pool.imap_unordered(func, items, chunksize=chunksize)
