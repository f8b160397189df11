"""Decode every unique file once: cache look-up, then the rest in worker tasks of CHUNK files each (decode.scan_many,
which measures a chunk's small images together), a progress bar.

Results reach the cache in batches as they arrive, so an interrupted scan (Ctrl-C, a crash, a kill) keeps what
it decoded and the next run resumes where this one stopped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ..parallel import process_map
from .cache import CacheEntry, ScanCache, encode_record
from .decode import RECORD_COLUMNS, THUMB_SIZE, scan_many
from .features import Features, ScanStats
from .remote import cache_keys, is_url
from .safe_read import ScanLimits
from .tiles import TileStore

CHUNK = 128  # files per worker task: amortises pickling and lets small images be measured together; small enough
# to balance the workers
COMMIT_EVERY = 512  # results per cache transaction ...
COMMIT_SECONDS = 5.0  # ... or after this long, whichever comes first: an interrupt loses at most this much work
STORE_EVERY = 256  # decoded rows buffered before they are written into the column arrays
COLUMNS = list(RECORD_COLUMNS)
THUMB_BYTES = THUMB_SIZE * THUMB_SIZE * 3
# Outcomes that depend on this run (a setting, a moment, the machine) rather than on the file: never cached.
UNCACHED_KINDS = frozenset({"timeout", "io_error", "file_too_large", "not_regular_file", "outside_root"})

ProgressCallback = Callable[[int], None]
# process_map's signature: (func, items, jobs, chunksize, serial_below) -> results in completion order. The local
# process pool, or scan/dask_backend.py's DaskMap for --dask.
MapFunction = Callable[..., Iterator]


class ScanInterrupted(KeyboardInterrupt):
    """Ctrl-C during the scan, after what was decoded has been saved; str() is the one line to print."""


def _scan_chunk(items: list[tuple[int, str | None]],
                limits: ScanLimits = ScanLimits()) -> list[tuple[int, tuple, str, bytes, bytes]]:
    """For each (index, path): (index, record values, the record as the cache stores it, thumbnail, tile). One
    worker task decodes a chunk together (decode.scan_many measures its small images together). The worker
    encodes the record for the cache: on 2 cores the main process's own work is taken from the decoders."""
    out = []
    for (index, _), (record, thumb, tile) in zip(items, scan_many([path for _, path in items], limits), strict=True):
        values = tuple(record[c] for c in COLUMNS)
        out.append((index, values, encode_record(values), thumb, tile))
    return out


def _refused_record(key: str) -> tuple:
    record = dict(RECORD_COLUMNS)
    record.update(status="unreadable", error_kind="outside_root",
                  error="a URL is outside --root; not read (--confine-to-root)" if is_url(key)
                  else "the path leads outside --root; not read (--confine-to-root)")
    return tuple(record[c] for c in COLUMNS)


def _file_key(path: Path | str | None) -> str:
    """What identifies a file in the scan and its cache: the absolute path, or the URL as written."""
    if path is None:
        return ""
    return path if isinstance(path, str) and is_url(path) else os.path.abspath(path)


def _stat_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
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
        self._pending: tuple[list[int], list[tuple], list[bytes]] = ([], [], [])

    def add(self, index: int, values: tuple, thumb: bytes) -> None:
        """put(), buffered: rows are written STORE_EVERY at a time (one numpy assignment per column, not per value)."""
        indices, rows, thumbs = self._pending
        indices.append(index)
        rows.append(values)
        thumbs.append(thumb)
        if len(indices) >= STORE_EVERY:
            self.flush()

    def flush(self) -> None:
        self.put_many(*self._pending)
        self._pending = ([], [], [])

    def put_many(self, indices: list[int], values: list[tuple], thumbs: list[bytes]) -> None:
        """put() for many rows at once (the cache's rows on a warm run): one assignment per column."""
        if not indices:
            return
        where = np.asarray(indices, dtype=np.int64)
        for name, column_values in zip(COLUMNS, zip(*values, strict=True), strict=True):
            column = self.columns[name]
            column[where] = np.array(column_values, dtype=column.dtype)
        full = [i for i, thumb in enumerate(thumbs) if len(thumb) == THUMB_BYTES]
        if full:
            data = b"".join(thumbs[i] for i in full)
            self.thumbs[where[full]] = np.frombuffer(data, dtype=np.uint8).reshape(-1, THUMB_SIZE, THUMB_SIZE, 3)

    def put(self, index: int, values: tuple, thumb: bytes) -> None:
        for name, value in zip(COLUMNS, values, strict=True):
            self.columns[name][index] = value
        if len(thumb) == THUMB_BYTES:
            self.thumbs[index] = np.frombuffer(thumb, dtype=np.uint8).reshape(THUMB_SIZE, THUMB_SIZE, 3)


class _CacheWriter:
    """Collects fresh results and commits them every COMMIT_EVERY results or COMMIT_SECONDS seconds."""

    def __init__(self, cache: ScanCache | None) -> None:
        self.cache, self.pending, self.saved = cache, [], 0
        self.last_commit = time.monotonic()

    def add(self, entry: CacheEntry) -> None:
        if self.cache is None:
            return
        self.pending.append(entry)
        if len(self.pending) >= COMMIT_EVERY or time.monotonic() - self.last_commit >= COMMIT_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.cache is not None and self.pending:
            self.saved += self.cache.store(self.pending)
        self.pending = []
        self.last_commit = time.monotonic()


def resolve_jobs(jobs: int) -> int:
    return jobs if jobs > 0 else max(1, os.cpu_count() or 1)


def scan_images(paths: Sequence[Path | str | None], jobs: int = 0, cache_dir: Path | None = None,
                progress: ProgressCallback | None = None, limits: ScanLimits = ScanLimits(),
                refused: Sequence[bool] | None = None, map_items: MapFunction = process_map) -> Features:
    """Features for each entry of `paths` (None = empty cell; a str may be a URL). Each unique file is decoded at
    most once. Entries flagged in `refused` are not opened at all (an outside_root record). `map_items` runs the
    decoding (default: local worker processes); the cache stays in this process either way."""
    started = time.perf_counter()
    # abspath, not resolve(): realpath costs an lstat per path component, for every image, in the main process.
    keys = [_file_key(p) for p in paths]
    # Unique files in first-seen order: without repeated paths file_ids is 0..n-1 and the thumbnails need no copy.
    first_seen = dict.fromkeys(keys)
    unique_list: list[str] = list(first_seen)
    position = {key: index for index, key in enumerate(unique_list)}
    file_ids = np.fromiter((position[key] for key in keys), dtype=np.int64, count=len(keys))
    del first_seen, position
    refused_keys = {keys[i] for i, flag in enumerate(refused or []) if flag and keys[i]}
    store = _ColumnStore(len(unique_list))
    tiles = TileStore(unique_list, cache_dir)
    stats = ScanStats(rows=len(paths), unique_files=len(unique_list), jobs=resolve_jobs(jobs))

    stat_keys = {k: _stat_key(k) for k in unique_list if k and k not in refused_keys and not is_url(k)}
    if cache_dir is not None:  # a remote key costs a request: only worth it with a cache
        stat_keys.update(cache_keys([k for k in unique_list if k not in refused_keys and is_url(k)]))
    cache = ScanCache(cache_dir) if cache_dir is not None else None
    cached = cache.lookup({k: v for k, v in stat_keys.items() if v is not None}) if cache else {}
    todo: list[tuple[int, str | None]] = []
    hits: list[int] = []
    for index, key in enumerate(unique_list):
        if key in refused_keys:
            store.put(index, _refused_record(key), b"")
        elif key in cached:
            hits.append(index)
            tiles.mark_cached(index)
        else:
            todo.append((index, key or None))
            continue
    found = [cached[unique_list[index]] for index in hits]
    store.put_many(hits, [values for values, _ in found], [thumb for _, thumb in found])
    stats.from_cache = len(hits)
    del found, cached
    if progress:
        progress(len(unique_list) - len(todo))

    writer = _CacheWriter(cache if cache is not None and cache.usable else None)
    try:
        chunks = [todo[start:start + CHUNK] for start in range(0, len(todo), CHUNK)]
        # The map's iterator is not kept in a variable: an exception here (Ctrl-C) drops it, which stops the workers
        # (or cancels the cluster's tasks) before the cache is flushed.
        for chunk in map_items(partial(_scan_chunk, limits=limits), chunks, jobs=stats.jobs, chunksize=1,
                               serial_below=2):
            for index, values, text, thumb, tile in chunk:
                store.add(index, values, thumb)
                tiles.put(index, tile)
                stats.decoded += 1
                key = unique_list[index]
                stat = stat_keys.get(key)
                if stat is not None and values[0] != "missing" and values[1] not in UNCACHED_KINDS:
                    writer.add((key, stat[0], stat[1], text, thumb, tile))
                if progress:
                    progress(1)
        store.flush()
    except KeyboardInterrupt:
        writer.flush()
        tiles.close()
        raise ScanInterrupted(_interrupted_message(stats, len(todo), writer.saved, cache)) from None
    finally:
        writer.flush()
        if cache:
            stats.warnings.extend(cache.warnings)
            cache.close()

    identity = len(unique_list) == len(keys)  # no path twice: file_ids is 0..n-1
    frame = pd.DataFrame({name: column if identity else column[file_ids] for name, column in store.columns.items()})
    thumbs = store.thumbs if identity else store.thumbs[file_ids]
    stats.seconds = time.perf_counter() - started
    return Features(frame=frame, thumbs=thumbs, file_ids=file_ids, stats=stats, tiles=tiles)


def _interrupted_message(stats: ScanStats, todo: int, saved: int, cache: ScanCache | None) -> str:
    done = f"interrupted after decoding {stats.decoded:,} of {todo:,} images"
    if cache is None:
        return f"{done} (no cache: --no-cache was given, a re-run starts over)"
    if not cache.usable:
        return f"{done} (the cache could not be written, a re-run starts over)"
    held = saved + stats.from_cache
    return f"{done}; the cache at {cache.path.parent} holds {held:,} images, so a re-run resumes there"
