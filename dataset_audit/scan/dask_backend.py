"""The scan's decoding on an existing Dask distributed cluster (`--dask ADDRESS`, the optional `dask` extra).

This process (the client) sends the images to decode as tasks of CHUNK items and gathers each task's compact
results (per image a record and a 16x16 thumbnail, about 1 KB) as it completes, in the order `process_map` would
give: the scan cache, the progress bar and everything after the scan stay here, and workers never write anything.
Workers run the same `_scan_chunk` as local worker processes, so they need this package at the same version
(checked on connecting) and must read the same paths: a shared filesystem mounted at the same place, or URLs.

Per-image time limit: not enforced on Dask workers. Tasks run in worker threads, and --image-timeout is a SIGALRM
timer that only a process's main thread receives; the byte cap and the regular-file checks do apply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from .. import __version__
from ..errors import AuditUsageError
from .decode import FEATURE_VERSION

INSTALL_HINT = "pip install 'dataset-audit[dask]'"
CONNECT_SECONDS = 5  # to reach the scheduler, and again for it to have a worker: a wrong address fails fast


def _worker_identity() -> tuple[str, int]:
    """Run on every worker when connecting: results are identical only with the same feature code."""
    return __version__, FEATURE_VERSION


def _run_chunk(func: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    return [func(item) for item in items]


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise AuditUsageError(f"--dask needs dask.distributed, which is not installed: {INSTALL_HINT}") from None
    return distributed


class DaskMap:
    """`process_map` over a connected Dask client: one task per chunk of items, results in completion order.
    Closing the iterator early (Ctrl-C, an error in the caller) cancels the tasks not yet gathered."""

    def __init__(self, client: Any, address: str) -> None:
        self.client, self.address = client, address

    @classmethod
    def connect(cls, address: str) -> DaskMap:
        """A DaskMap on the scheduler at `address`, or a usage error saying why it cannot be used."""
        distributed = _import_distributed()
        try:
            client = distributed.Client(address, timeout=f"{CONNECT_SECONDS}s", set_as_default=False)
        except Exception as exc:  # noqa: BLE001 - refused, timed out, a malformed address: all the same to the user
            raise AuditUsageError(f"--dask {address}: cannot reach the Dask scheduler within {CONNECT_SECONDS} s "
                                  f"({type(exc).__name__}: {exc})") from None
        dask_map = cls(client, address)
        try:
            dask_map._check_workers()
        except BaseException:
            client.close()
            raise
        return dask_map

    def _check_workers(self) -> None:
        try:
            self.client.wait_for_workers(1, timeout=CONNECT_SECONDS)
        except Exception:  # noqa: BLE001 - a TimeoutError whose class differs across versions
            raise AuditUsageError(f"--dask {self.address}: the scheduler has no workers (waited "
                                  f"{CONNECT_SECONDS} s)") from None
        try:
            identities = self.client.run(_worker_identity)
        except Exception as exc:  # noqa: BLE001 - typically: the worker cannot import dataset_audit
            raise AuditUsageError(f"--dask {self.address}: the workers cannot run the scan ({type(exc).__name__}: "
                                  f"{exc}); install dataset-audit {__version__} on every worker") from None
        ours = (__version__, FEATURE_VERSION)
        others = {worker: identity for worker, identity in identities.items() if tuple(identity) != ours}
        if others:
            worker, (version, features) = next(iter(others.items()))
            raise AuditUsageError(
                f"--dask {self.address}: {len(others)} worker(s) run dataset-audit {version} (feature version "
                f"{features}), this process {__version__} ({FEATURE_VERSION}), e.g. {worker}; install the same "
                "version everywhere so that results match a local run")

    @property
    def threads(self) -> int:
        """Worker threads on the cluster now: what the report calls the scan's workers."""
        return sum(self.client.nthreads().values()) or 1

    def __call__(self, func: Callable[[Any], Any], items: Sequence[Any], jobs: int = 0, chunksize: int = 128,
                 serial_below: int = 0) -> Iterator[Any]:
        """func over items on the cluster. `jobs` and `serial_below` are the local pool's and are ignored: the
        cluster sets its own parallelism, and even a few items go to it (this machine may not read them)."""
        del jobs, serial_below
        if not items:
            return
        from distributed import as_completed

        chunks = [items[start:start + chunksize] for start in range(0, len(items), chunksize)]
        # pure=False: reading a file is not a pure function of its path (the file may have changed).
        pending = set(self.client.map(partial(_run_chunk, func), chunks, pure=False))
        try:
            for future in as_completed(list(pending), loop=self.client.loop):
                try:
                    results = future.result()
                except (Exception, asyncio.CancelledError) as exc:
                    raise AuditUsageError(
                        f"--dask {self.address}: the cluster failed while scanning ({type(exc).__name__}: {exc}); "
                        "what was decoded is in the scan cache, so a re-run resumes there") from None
                pending.discard(future)  # the last reference: the cluster forgets the result
                del future
                yield from results
        finally:
            if pending:
                self.client.cancel(list(pending))

    def close(self) -> None:
        self.client.close()
