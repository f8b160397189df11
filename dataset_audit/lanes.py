"""Analysers side by side. They are independent pure functions of one AuditInput, so after the scan the pipeline can
fork helper processes that see the scanned features copy-on-write (nothing is copied or pickled on the way in), and
every lane, this process and each helper, takes the next task from one shared counter. The caller orders the tasks
slowest first, so the long ones start at once and the short ones fill the gaps.

A helper sends each result back pickled through its own pipe, read by a thread here so a helper never waits for
this process to finish its own task. A task whose result never arrives (a helper killed by the kernel, a result
that does not pickle) is run again here, serially: lanes change when work happens, never what it gives.

Only on Linux (fork is the platform's default there and cheap); elsewhere, with one lane or one task, everything
runs here in order. BLAS pools are limited to an even share of the cores in every lane while lanes run side by
side (2 lanes on 2 cores: one thread each), so lanes do not oversubscribe the machine. OpenMP gets the same share
here but one thread in a helper, whatever the cores: GNU OpenMP hangs when a forked child starts a team of more than
one thread after its parent used OpenMP (a notebook's second audit, a test process), so helpers never do.
Memory: each busy lane holds its own task's working memory, so the peak is the sum over lanes of what runs at once.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from threadpoolctl import threadpool_limits

from .parallel import _worker_setup

MAX_LANES = 4
# Modules the analysers import where they use them, so a warm run (every section from the analysis cache) spends no
# time on them: importing the package went from 2.46 to 0.99 s (python -X importtime). When lanes run, this
# process imports them once before the fork, and the helpers share them instead of each importing its own.
SHARED_IMPORTS = ("scipy.sparse.csgraph", "scipy.stats", "sklearn.decomposition", "sklearn.discriminant_analysis",
                  "sklearn.ensemble", "sklearn.manifold", "sklearn.metrics", "sklearn.model_selection",
                  "sklearn.neighbors", "sklearn.tree")
_END = "end"
_lane_threads: int | None = None  # while lanes run: the threads each lane may use (in this process)


def thread_budget(jobs: int) -> int:
    """Threads an analyser may start itself (n_jobs of openTSNE, a kNN search): its lane's share while lanes run
    side by side (1 in a helper, see above), else `jobs` (-1, all cores, for jobs 0). A pool sized by its caller
    ignores threadpoolctl's limit, so the analyser must ask."""
    if _lane_threads is not None:
        return _lane_threads
    return jobs if jobs > 0 else -1


def lane_count(jobs: int, tasks: int) -> int:
    """How many lanes to use for `tasks` tasks with `jobs` cores allowed (1: run everything here)."""
    if not sys.platform.startswith("linux"):
        return 1
    return max(1, min(jobs, tasks, MAX_LANES))


def run_lanes(work: Callable[[int], Any], tasks: int, lanes: int,
              done: Callable[[int, Any, float], None], movable: int | None = None, cores: int | None = None) -> None:
    """work(i) for every i in range(tasks), in `lanes` lanes; done(i, result, seconds) is called here, in this
    process and thread, once per task as results come in (in completion order). Only the first `movable` tasks
    (default: all) may run in a helper; the rest always run here. `cores` (default: the machine's) are shared
    evenly between the lanes' thread pools."""
    movable = tasks if movable is None else min(movable, tasks)
    reported: set[int] = set()

    def here(index: int) -> None:
        started = time.perf_counter()
        result = work(index)
        reported.add(index)
        done(index, result, time.perf_counter() - started)

    if lanes <= 1 or tasks <= 1 or movable < 1:
        for index in range(tasks):
            here(index)
        return
    for name in SHARED_IMPORTS:
        importlib.import_module(name)
    context = multiprocessing.get_context("fork")
    # This process takes the first (costliest) task before any helper exists, so which lane runs what does not
    # depend on a race. It matters for memory: a helper's writes to pages it shares with this process (Python
    # objects' reference counts, new arrays) are its own copies. At 1,000,000 images, make bench-1m peaked at
    # 4,932 MB in a run where a helper had won the duplicate search (a per-process log of a rerun showed the helper
    # holding it while labels ran here), and at 3,891 MB with it here.
    counter = context.Value("i", 0)
    first = _claim(counter, tasks)
    threads = max(1, (cores or os.cpu_count() or 1) // lanes)
    helpers, inbox = [], queue.Queue()
    parent = os.getpid()
    for _ in range(lanes - 1):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_helper, args=(parent, work, movable, counter, send, threads), daemon=True)
        process.start()
        send.close()
        helpers.append((process, receive))
    readers = [threading.Thread(target=_read, args=(receive, inbox), daemon=True) for _, receive in helpers]
    for reader in readers:
        reader.start()
    ended = 0  # helpers that said they finished (or whose pipe closed)
    finished = False

    def deliver(block: bool) -> None:
        """Hand the results that came in to done(); with block, wait for at least one message."""
        nonlocal ended
        while True:
            try:
                message = inbox.get(block=block)
            except queue.Empty:
                return
            if message == _END:
                ended += 1
            else:
                index, result, seconds = message
                reported.add(index)
                done(index, result, seconds)
            if block:
                return

    global _lane_threads
    try:
        _lane_threads = threads
        with threadpool_limits(limits=threads):
            index = first
            while index is not None:
                here(index)
                deliver(block=False)
                index = _claim(counter, tasks)
        while ended < len(helpers):
            deliver(block=True)
        finished = True
    finally:  # after an exception here (Ctrl-C), helpers are stopped at once rather than left to finish
        _lane_threads = None
        for process, receive in helpers:
            process.join(timeout=5 if finished else 0)
            if process.is_alive():
                process.kill()
                process.join()
            receive.close()
    for index in range(tasks):  # lost on the way: run here (a helper killed, an unpicklable result)
        if index not in reported:
            here(index)


def _claim(counter: Any, tasks: int) -> int | None:
    with counter.get_lock():
        index = counter.value
        if index >= tasks:
            return None
        counter.value = index + 1
    return index


def _read(receive: Any, inbox: queue.Queue) -> None:
    """One helper's results into the inbox; EOF (the helper ended or died) counts as its end."""
    try:
        while True:
            message = pickle.loads(receive.recv_bytes())
            inbox.put(message)
            if message == _END:
                return
    except (EOFError, OSError):
        inbox.put(_END)


def _helper(parent: int, work: Callable[[int], Any], tasks: int, counter: Any, send: Any, threads: int) -> None:
    _worker_setup(parent)
    # The parent's progress display may have replaced the standard streams with proxies whose lock was held at the
    # fork; a warning printed here goes to the real streams instead.
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    global _lane_threads
    _lane_threads = 1  # OpenMP teams of one only, after a fork (see the module docstring)
    with threadpool_limits(limits={"blas": threads, "openmp": 1}):
        while (index := _claim(counter, tasks)) is not None:
            started = time.perf_counter()
            try:
                payload = pickle.dumps((index, work(index), time.perf_counter() - started),
                                       protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - not picklable (or work failed outside its own guard): rerun there
                continue
            send.send_bytes(payload)
    send.send_bytes(pickle.dumps(_END))
    send.close()
