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
