"""The scan keeps each image's display tile, so the report's sprite sheets never decode an image a second time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dataset_audit.report import sprites
from dataset_audit.scan.cache import FILE_NAME
from dataset_audit.scan.decode import TILE_SIDE
from dataset_audit.scan.runner import scan_images
from tests.imagetools import random_rgb


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    paths = []
    for i in range(6):
        path = folder / f"img_{i}.png"
        random_rgb(i, (80, 40) if i % 2 else (24, 24)).save(path)
        paths.append(path)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return [*paths, folder / "broken.jpg", folder / "gone.png"]


def test_tiles_come_from_the_scan_fresh_and_from_the_cache(images, tmp_path):
    cache = tmp_path / "cache"
    for run in ("cold", "warm"):
        features = scan_images(images, jobs=1, cache_dir=cache)
        assert (features.stats.from_cache > 0) == (run == "warm")
        tiles = features.tiles.get_raw(list(range(len(images))))
        assert sorted(tiles) == list(range(6)), run  # the broken and the missing file have none
        assert tiles[1][:2] == (TILE_SIDE, TILE_SIDE // 2)  # 80x40 fits in 32x16, aspect kept
        assert tiles[0][:2] == (24, 24)  # smaller than a tile: kept as it is
        features.tiles.close()


def test_sprites_use_stored_tiles_without_opening_images(images, monkeypatch):
    features = scan_images(images, jobs=1, cache_dir=None)
    opened = []
    monkeypatch.setattr(sprites, "tile_bytes", lambda path, side=TILE_SIDE: opened.append(path))
    sheets = sprites.make_sprites(images, stored=features.tiles.get_raw)
    assert sheets.missing == [6, 7]  # only the two unreadable ones had no stored tile and were tried on disk
    assert opened == [str(images[6]), str(images[7])]


def test_a_cache_tile_that_is_not_a_small_jpeg_is_ignored(images, tmp_path):
    cache = tmp_path / "cache"
    scan_images(images, jobs=1, cache_dir=cache).tiles.close()
    with sqlite3.connect(cache / FILE_NAME) as db:  # someone with write access to a shared cache folder
        db.execute("UPDATE records SET tile = ? WHERE path LIKE '%img_0.png'", (b"\x89PNG" + b"\0" * 100,))
        db.execute("UPDATE records SET tile = ? WHERE path LIKE '%img_1.png'", (b"\xff" * 100_000,))
    features = scan_images(images, jobs=1, cache_dir=cache)
    assert features.stats.from_cache == 7  # every file but the missing one
    assert sorted(features.tiles.get_raw(list(range(8)))) == [2, 3, 4, 5]


def _tile(seed: int, width: int, height: int) -> bytes:
    import numpy as np

    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return bytes((width, height)) + pixels.tobytes()


def test_tiles_read_back_in_runs_are_the_tiles_written():
    from dataset_audit.scan.tiles import TileStore

    store = TileStore([f"/x/{i}.png" for i in range(12)], None)
    written = {}
    for index in (4, 5, 6, 0, 1, 9, 2, 11, 3):  # a worker task's files together, tasks out of order; 7, 8, 10 none
        written[index] = _tile(index, TILE_SIDE, TILE_SIDE) if index % 3 else _tile(index, 20, 9)
        store.put(index, written[index])
    asked = [11, 0, 1, 2, 5, 6, 7, 3, 9, 9, 10]  # gaps, out of order, one twice, some never written
    got = store.get_raw(asked)
    assert sorted(got) == sorted({i for i in asked if i in written})
    for index, (width, height, pixels) in got.items():
        assert bytes((width, height)) + pixels == written[index], index
    store.put(7, _tile(7, 5, 5))  # written after a read: appended, and found
    assert store.get_raw([7, 6])[7][:2] == (5, 5)
    store.close()


def test_a_sheet_of_full_and_smaller_tiles_is_drawn_cell_by_cell(tmp_path):
    import numpy as np

    count = 70  # three lines, the last one partly empty
    tiles = {i: (TILE_SIDE, TILE_SIDE, _tile(i, TILE_SIDE, TILE_SIDE)[2:]) if i % 4 else
             (12 + i % 7, 30, _tile(i, 12 + i % 7, 30)[2:]) for i in range(count) if i != 33}
    sheets = sprites.SpriteSheets(side=TILE_SIDE, per_line=sprites.TILES_PER_LINE, per_sheet=sprites.TILES_PER_SHEET)
    sheet = sprites._fill([None] * count, 0, count, sheets, 1, None, lambda indices: dict(tiles))
    expected = np.empty_like(sheet)
    expected[...] = sprites.BACKGROUND
    for index, tile in tiles.items():
        sprites._place(expected, index, *tile)
    assert sheet.shape == (3 * TILE_SIDE, sprites.TILES_PER_LINE * TILE_SIDE, 3)
    assert np.array_equal(sheet, expected)
    assert sheets.missing == [33]  # no stored tile and no file
