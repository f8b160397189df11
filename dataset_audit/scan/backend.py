"""Where the scan decodes: local worker processes (--jobs), or an existing Dask cluster (--dask ADDRESS)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..parallel import process_map
from .runner import MapFunction


@dataclass(frozen=True)
class ScanBackend:
    map_items: MapFunction  # process_map's signature
    jobs: int  # local worker processes (0: one per core), or the cluster's worker threads


@contextmanager
def scan_backend(jobs: int, dask_address: str | None = None) -> Iterator[ScanBackend]:
    """The local process pool, or the Dask cluster at `dask_address`: connected on entry, so a wrong address or a
    missing package is a usage error before the scan starts, and closed on exit."""
    if not dask_address:
        yield ScanBackend(process_map, jobs)
        return
    from .dask_backend import DaskMap  # dask is an optional extra: imported only when asked for

    dask_map = DaskMap.connect(dask_address)
    try:
        yield ScanBackend(dask_map, dask_map.threads)
    finally:
        dask_map.close()
