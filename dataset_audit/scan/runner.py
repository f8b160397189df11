"""Run scan_one over every unique file: cache look-up, a process pool for the rest, a progress bar."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..parallel import process_map
from .cache import ScanCache
from .decode import RECORD_COLUMNS, THUMB_SIZE, scan_one
from .features import Features, ScanStats

CHUNK = 128  # files per task sent to a worker: large enough to amortise pickling, small enough to balance
COLUMNS = list(RECORD_COLUMNS)
THUMB_BYTES = THUMB_SIZE * THUMB_SIZE * 3

ProgressCallback = Callable[[int], None]


def _scan_item(item: tuple[int, str | None]) -> tuple[int, tuple, bytes]:
    index, path = item
    record, thumb = scan_one(path)
    return index, tuple(record[c] for c in COLUMNS), thumb


def _stat_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


class _ColumnStore:
    """Per-column arrays filled as results arrive: a few bytes per image instead of a dict per image."""

    def __init__(self, n: int) -> None:
        self.columns: dict[str, np.ndarray] = {}
        for name, default in RECORD_COLUMNS.items():
            if isinstance(default, bool):
                self.columns[name] = np.zeros(n, dtype=bool)
            elif isinstance(default, int):
                self.columns[name] = np.full(n, default, dtype=np.int64)
            elif isinstance(default, float):
                self.columns[name] = np.full(n, default, dtype=np.float32)
            else:
                self.columns[name] = np.full(n, default, dtype=object)
        self.thumbs = np.zeros((n, THUMB_SIZE, THUMB_SIZE, 3), dtype=np.uint8)

    def put(self, index: int, values: tuple, thumb: bytes) -> None:
        for name, value in zip(COLUMNS, values, strict=True):
            self.columns[name][index] = value
        if len(thumb) == THUMB_BYTES:
            self.thumbs[index] = np.frombuffer(thumb, dtype=np.uint8).reshape(THUMB_SIZE, THUMB_SIZE, 3)


def resolve_jobs(jobs: int) -> int:
    return jobs if jobs > 0 else max(1, os.cpu_count() or 1)


def scan_images(paths: list[Path | None], jobs: int = 0, cache_dir: Path | None = None,
                progress: ProgressCallback | None = None) -> Features:
    """Features for each entry of `paths` (None = empty cell). Each unique file is decoded at most once."""
    started = time.perf_counter()
    # abspath, not resolve(): realpath costs an lstat per path component, for every image, in the main process.
    keys = [os.path.abspath(p) if p is not None else "" for p in paths]
    unique_keys, file_ids = np.unique(np.array(keys, dtype=object), return_inverse=True)
    unique_list: list[str] = unique_keys.tolist()
    store = _ColumnStore(len(unique_list))
    stats = ScanStats(rows=len(paths), unique_files=len(unique_list), jobs=resolve_jobs(jobs))

    stat_keys = {k: _stat_key(k) for k in unique_list if k}
    todo: list[tuple[int, str | None]] = []
    cache = ScanCache(cache_dir) if cache_dir is not None else None
    cached = cache.lookup({k: v for k, v in stat_keys.items() if v is not None}) if cache else {}
    for index, key in enumerate(unique_list):
        if key in cached:
            values, thumb = cached[key]
            store.put(index, values, thumb)
            stats.from_cache += 1
            if progress:
                progress(1)
        else:
            todo.append((index, key or None))

    fresh: list[tuple[str, int, int, tuple, bytes]] = []
    for index, values, thumb in process_map(_scan_item, todo, jobs=stats.jobs, chunksize=CHUNK,
                                            serial_below=2 * CHUNK):
        store.put(index, values, thumb)
        stats.decoded += 1
        key = unique_list[index]
        stat = stat_keys.get(key)
        if cache and stat is not None and values[0] != "missing":
            fresh.append((key, stat[0], stat[1], values, thumb))
        if progress:
            progress(1)
    if cache:
        if fresh:
            cache.store(fresh)
        cache.close()

    frame = pd.DataFrame({name: column[file_ids] for name, column in store.columns.items()})
    stats.seconds = time.perf_counter() - started
    return Features(frame=frame, thumbs=store.thumbs[file_ids], file_ids=file_ids.astype(np.int64), stats=stats)
