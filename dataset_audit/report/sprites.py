"""Sprite sheets: one small tile per explorer row, packed 1,024 to a WebP image, so every row can carry a picture.

Chosen by measurement (bench/thumbnail_encodings.py, on 1,024 CIFAR-10 images): one data URI per image pays its
headers every time, so sprite sheets beat single URIs at every quality, and WebP beats JPEG; quality 40 is the one
that keeps a 60,000-row report inside the 25 MB budget with plotly.js and the table (bench/RESULTS.md gives the
report sizes `make bench` measured), and 32 px tiles at quality 40 still show what a CIFAR-10 image is.

Cost: the scan already made each image's tile (scan/tiles.py, raw RGB), so a sheet is 1,024 pastes and one encode;
only an image without a stored tile (features built by hand, a damaged cache entry) is opened once more, in
parallel and at reduced size where the format allows. Sheets are encoded in `jobs` threads while the next ones are
filled. Memory: the filled sheets waiting for an encoder (3 MB each), plus one tile per worker. With a cache folder,
a sheet whose pixels were encoded before is read back instead (report/sprite_cache.py).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

from ..parallel import process_map
from ..scan.decode import FEATURE_VERSION, load_preview
from .sprite_cache import SpriteCache, layout_key, sheet_key

TILE_SIDE = 32
TILES_PER_LINE = 32
TILES_PER_SHEET = TILES_PER_LINE * TILES_PER_LINE
WEBP_QUALITY = 40
# libwebp's effort (0-6). Measured on CIFAR-10 sheets at quality 40 (commit message of this line): 2 encodes in about
# a third of 4's time, with a few percent more bytes and the same PSNR; sheets are most of a cold report's time.
WEBP_METHOD = 2
BACKGROUND = (238, 238, 238)  # letterbox colour of non-square images, the page's placeholder grey


@dataclass
class SpriteSheets:
    """Tile i of the explorer lives in sheets[i // per_sheet] at cell i % per_sheet (row-major, per_line wide)."""

    side: int
    per_line: int
    per_sheet: int
    sheets: list[str] = field(default_factory=list)  # data URIs
    missing: list[int] = field(default_factory=list)  # tiles whose image could not be read (left blank)

    def as_json(self) -> dict:
        return {"side": self.side, "perLine": self.per_line, "perSheet": self.per_sheet, "sheets": self.sheets,
                "missing": self.missing}


def tile_bytes(path: str | None, side: int = TILE_SIDE) -> tuple[int, int, bytes] | None:
    """(width, height, RGB bytes) of the image shrunk to fit side x side, or None when it cannot be read."""
    if not path:
        return None
    # The scan's safe reader: regular files only, byte cap, time limit, pixel cap (a FIFO or /dev/zero in the table
    # must not hang the report either). Unreadable files are already findings; the page shows a placeholder.
    rgb = load_preview(path, side)
    if rgb is None:
        return None
    try:
        rgb = rgb.copy()
        rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
    except Exception:  # noqa: BLE001 - a decoder error surfacing late is a placeholder too
        return None
    return rgb.width, rgb.height, rgb.tobytes()


def _job(args: tuple[int, str | None]) -> tuple[int, tuple[int, int, bytes] | None]:
    index, path = args
    return index, tile_bytes(path)


# Tile indices -> (width, height, RGB bytes) of the scan's tiles of those (TileStore.get_raw).
StoredTiles = Callable[[Sequence[int]], dict[int, tuple[int, int, bytes]]]


def make_sprites(paths: list[str | None], jobs: int = 1, progress: Callable[[int], None] | None = None,
                 stored: StoredTiles | None = None, cache_dir: Path | None = None,
                 identities: Sequence[str] | None = None) -> SpriteSheets:
    """Tiles for `paths` in order (tile i is paths[i]), packed into WebP sheets. `stored` gives the scan's tiles
    for a list of tile indices; indices it leaves out are read from their image files. With `cache_dir`, sheets
    encoded by an earlier run (same pixels) are read from its sprite cache, and new ones are added to it.

    `identities` (one string per tile: what decides its pixels, e.g. the scan's hash of the file's bytes) let a
    sheet whose tiles all show what they showed in an earlier run come from the cache without being filled: no
    tile is read at all (a warm run). Without them every sheet is filled and looked up by its pixels."""
    sprites = SpriteSheets(side=TILE_SIDE, per_line=TILES_PER_LINE, per_sheet=TILES_PER_SHEET)
    workers = max(1, jobs)
    cache = SpriteCache(cache_dir) if cache_dir is not None else None
    if cache is not None and not cache.usable:
        cache = None
    settings = f"WEBP q{WEBP_QUALITY} m{WEBP_METHOD}"
    encoded: list[Future[bytes]] = []
    new_keys: list[str | None] = []  # the cache key of each sheet encoded in this run, None for cached ones
    layouts: list[tuple[str, str, list[int]]] = []  # (layout key, pixel key, missing cells) to remember
    try:
        with ThreadPoolExecutor(workers) as encoders:  # the encoder releases the GIL for much of its work
            for start in range(0, len(paths), TILES_PER_SHEET):
                count = min(TILES_PER_SHEET, len(paths) - start)
                layout = None
                if cache is not None and identities is not None:
                    layout = layout_key(identities[start:start + count], f"{settings} {_LAYOUT_SETTINGS}")
                    webp, missing = _cached_layout(cache, layout)
                    if webp is not None:
                        sprites.missing.extend(start + cell for cell in missing)
                        if progress:
                            progress(count)
                        encoded.append(_done(webp))
                        new_keys.append(None)
                        continue
                before = len(sprites.missing)
                sheet = _fill(paths, start, count, sprites, jobs, progress, stored)
                key = webp = None
                if cache is not None:
                    key = sheet_key(sheet, settings)
                    webp = cache.get(key)
                    if layout is not None:
                        layouts.append((layout, key, [index - start for index in sprites.missing[before:]]))
                if webp is not None:
                    encoded.append(_done(webp))
                    new_keys.append(None)
                else:
                    encoded.append(encoders.submit(_webp, sheet))
                    new_keys.append(key)
                del sheet
                if len(encoded) > 2 * workers:  # at most 2 sheets per encoder wait (3 MB each), however many
                    encoded[-2 * workers - 1].result()
        sprites.sheets = [_data_uri(future.result()) for future in encoded]
        if cache is not None:
            for key, future in zip(new_keys, encoded, strict=True):
                if key is not None:
                    cache.put(key, future.result())
            for layout, key, missing in layouts:
                cache.put_layout(layout, key, missing)
            cache.prune()
    finally:
        if cache is not None:
            cache.close()
    sprites.missing.sort()
    return sprites


# What else decides a sheet's pixels besides its tiles' files: the tile and sheet geometry, the scan's tile
# definition (feature version) and the decoder that made the tiles. Bump TILE_VERSION when drawing changes.
TILE_VERSION = 1
_LAYOUT_SETTINGS = (f"tiles v{TILE_VERSION} side {TILE_SIDE} line {TILES_PER_LINE} sheet {TILES_PER_SHEET} "
                    f"background {BACKGROUND} features v{FEATURE_VERSION} pillow {PIL.__version__}")


def _cached_layout(cache: SpriteCache, layout: str) -> tuple[bytes | None, list[int]]:
    found = cache.layout(layout)
    if found is None:
        return None, []
    sheet, missing = found
    if any(cell >= TILES_PER_SHEET for cell in missing):
        return None, []
    webp = cache.get(sheet)
    return (webp, missing) if webp is not None else (None, [])


def _done(webp: bytes) -> Future[bytes]:
    done: Future[bytes] = Future()
    done.set_result(webp)
    return done


def _fill(paths: list[str | None], start: int, count: int, sprites: SpriteSheets, jobs: int,
          progress: Callable[[int], None] | None, stored: StoredTiles | None) -> np.ndarray:
    """The sheet of tiles start .. start + count as a (height, width, 3) array (unreadable ones noted in
    sprites.missing). Tiles are copied into the array: an image object and a paste per tile took longer (the
    commit that made this change gives the figures)."""
    chunk = [(start + i, str(p) if p is not None else None) for i, p in enumerate(paths[start:start + count])]
    lines = -(-len(chunk) // TILES_PER_LINE)
    known = stored([index for index, _ in chunk]) if stored is not None else {}
    # Full-size tiles (every tile of a dataset of images at least TILE_SIDE square) go in with one copy: as an
    # array of cells, turned into the sheet's rows of pixels. The others are centred one by one (_place).
    cells = np.empty((lines * TILES_PER_LINE, TILE_SIDE, TILE_SIDE, 3), dtype=np.uint8)
    cells[...] = BACKGROUND
    full = [(index, tile[2]) for index, tile in known.items() if tile[0] == TILE_SIDE and tile[1] == TILE_SIDE]
    if full:
        where = np.fromiter((index - start for index, _ in full), dtype=np.int64, count=len(full))
        cells[where] = np.frombuffer(b"".join(pixels for _, pixels in full), dtype=np.uint8).reshape(
            len(full), TILE_SIDE, TILE_SIDE, 3)
    sheet = np.ascontiguousarray(cells.reshape(lines, TILES_PER_LINE, TILE_SIDE, TILE_SIDE, 3).transpose(0, 2, 1, 3, 4)
                                 ).reshape(lines * TILE_SIDE, TILES_PER_LINE * TILE_SIDE, 3)
    del cells
    for index, tile in known.items():
        if tile[0] != TILE_SIDE or tile[1] != TILE_SIDE:
            _place(sheet, index - start, *tile)
    if progress and known:
        progress(len(known))
    rest = [item for item in chunk if item[0] not in known]
    for index, tile in process_map(_job, rest, jobs=jobs, chunksize=64, serial_below=200):
        if tile is None:
            sprites.missing.append(index)
        else:
            _place(sheet, index - start, *tile)
        if progress:
            progress(1)
    return sheet


def _place(sheet: np.ndarray, cell: int, width: int, height: int, pixels: bytes) -> None:
    """Centre a tile in its cell (a non-square image is letterboxed on the background)."""
    x = (cell % TILES_PER_LINE) * TILE_SIDE + (TILE_SIDE - width) // 2
    y = (cell // TILES_PER_LINE) * TILE_SIDE + (TILE_SIDE - height) // 2
    sheet[y:y + height, x:x + width] = np.frombuffer(pixels, dtype=np.uint8).reshape(height, width, 3)


def _webp(sheet: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(sheet, "RGB").save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return buffer.getvalue()


def _data_uri(webp: bytes) -> str:
    return "data:image/webp;base64," + base64.b64encode(webp).decode("ascii")
