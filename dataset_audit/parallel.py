"""One process-pool loop for the whole tool (the scan and the report's thumbnails), so it is written once.

Workers leave Ctrl-C to the parent (which stops the pool and says what was done) and die with it: no worker prints
a KeyboardInterrupt or BrokenPipeError traceback when the parent is interrupted or killed.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this worker when its parent dies (else it would finish its task and fail writing the
    result into the closed pipe, with a traceback). Elsewhere the pool's own shutdown is all there is."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)


def _worker_setup(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the whole group; the parent handles it
    _die_with_parent(parent)


def process_map(func: Callable[[Item], Result], items: Sequence[Item], jobs: int, chunksize: int,
                serial_below: int = 0) -> Iterator[Result]:
    """func over items in `jobs` worker processes, results in completion order. Runs in this process when
    jobs is 1 or there are fewer than `serial_below` items (starting workers would cost more than it saves).
    func must be picklable: a module-level function, or a functools.partial of one (workers are forked where the
    platform allows, spawned elsewhere). Closing the iterator early, or an exception in the caller, stops the
    workers at once."""
    if not items:
        return
    if jobs <= 1 or len(items) < serial_below:
        for item in items:
            yield func(item)
        return
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with context.Pool(processes=jobs, initializer=_worker_setup, initargs=(os.getpid(),)) as pool:
        yield from pool.imap_unordered(func, items, chunksize=chunksize)
