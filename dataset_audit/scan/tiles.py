"""Display tiles of the scanned images (at most TILE_SIDE px, raw RGB), kept on disk so the report never decodes an
image twice.

The scan makes each image's tile in the same decode as its features: two bytes of width and height, then the raw
RGB bytes (at most 3 KB; raw because reading 100,000 tiny JPEGs back costs the report more than the disk space
saved). A tile of an image decoded in this run goes to a temporary file (12 bytes of offsets per image in memory);
a tile of an image the scan cache served is read back from the cache file when the report asks for it. Memory
stays flat whatever the dataset size; the temporary file is removed with the store.

A tile from the cache is data from a folder others may write: it is used only if its length is exactly what its
width and height (each at most TILE_SIDE) say; anything else counts as absent, and the report reads that image.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .cache import ScanCache
from .decode import TILE_SIDE


class TileStore:
    """Tiles by unique-file index (Features.file_ids): put() during the scan, get_raw() from the report."""

    def __init__(self, keys: list[str], cache_dir: Path | None) -> None:
        self._keys = keys  # unique file keys (absolute paths), as the scan cache knows them
        self._cache_dir = cache_dir
        self._offsets = np.full(len(keys), -1, dtype=np.int64)
        self._lengths = np.zeros(len(keys), dtype=np.int32)
        self._in_cache = np.zeros(len(keys), dtype=bool)
        folder = tempfile.mkdtemp(prefix="dataset-audit-tiles-")
        self._file = open(Path(folder) / "tiles.bin", "w+b")  # noqa: SIM115 - closed by close() or the finalizer
        self._end = 0
        self._at_end = True  # the file position is _end (get_raw moves it)
        # Removed by close(), or when the store is garbage collected, or at exit: never left behind, never a warning.
        self._remove = weakref.finalize(self, _remove, self._file, folder)

    def put(self, index: int, tile: bytes) -> None:
        """Keep the tile of unique file `index` (empty bytes: it has none)."""
        if not tile:
            return
        if not self._at_end:
            self._file.seek(self._end)
            self._at_end = True
        self._file.write(tile)
        self._offsets[index], self._lengths[index] = self._end, len(tile)
        self._end += len(tile)

    def mark_cached(self, index: int) -> None:
        """The scan cache holds this file's tile: read it from there when asked."""
        self._in_cache[index] = True

    def get_raw(self, indices: list[int]) -> dict[int, tuple[int, int, bytes]]:
        """(width, height, RGB bytes) of the tiles of these unique-file indices; indices with no usable tile are
        left out. What the report's sprite sheets need, without an image object per tile."""
        raw = self._read_written(indices)
        wanted = [i for i in indices if i not in raw and self._in_cache[i]]
        if wanted and self._cache_dir is not None:
            cache = ScanCache(self._cache_dir)
            try:
                stored = cache.tiles([self._keys[i] for i in wanted])
            finally:
                cache.close()
            raw.update((i, stored[self._keys[i]]) for i in wanted if self._keys[i] in stored)
        tiles = {}
        for index, data in raw.items():
            tile = _split_tile(data)
            if tile is not None:
                tiles[index] = tile
        return tiles

    def _read_written(self, indices: list[int]) -> dict[int, bytes]:
        """The bytes of the tiles this store's file holds, read in runs: tiles written one after the other (a
        worker task's files arrive together) come in one read, not a seek and a read each."""
        wanted = np.asarray([i for i in indices if self._offsets[i] >= 0], dtype=np.int64)
        if not len(wanted):
            return {}
        wanted = wanted[np.argsort(self._offsets[wanted], kind="stable")]
        starts = self._offsets[wanted]
        ends = starts + self._lengths[wanted]
        # A run ends where the next tile does not begin exactly where this one ends (or repeats it).
        breaks = np.flatnonzero(starts[1:] != ends[:-1]) + 1
        raw: dict[int, bytes] = {}
        self._at_end = False
        for run in np.split(np.arange(len(wanted)), breaks):
            first = int(starts[run[0]])
            self._file.seek(first)
            data = self._file.read(int(ends[run[-1]]) - first)
            for position in run:
                raw[int(wanted[position])] = data[int(starts[position]) - first:int(ends[position]) - first]
        return raw

    def close(self) -> None:
        self._remove()


def _remove(handle: BinaryIO, folder: str) -> None:
    handle.close()
    shutil.rmtree(folder, ignore_errors=True)


def _split_tile(data: bytes) -> tuple[int, int, bytes] | None:
    if len(data) < 2:
        return None
    width, height = data[0], data[1]
    if not (0 < width <= TILE_SIDE and 0 < height <= TILE_SIDE) or len(data) != 2 + width * height * 3:
        return None
    return width, height, data[2:]
