"""Encoded sprite sheets kept between runs: a warm re-run re-encodes no sheet whose tiles are unchanged.

A sheet is stored under a digest of its pixels and the encoder settings, so the key is exactly what the encoder
would see: any change to any tile (a new image, another row order, a different cap) is another key. The value is
the WebP file. Filling a sheet (pasting 1,024 stored tiles) costs little; encoding them was the largest part of a
warm CIFAR-10 60k run (py-spy), which is what this saves.

A warm run need not even fill a sheet to find it: a second table maps the sheet's *layout* (what each tile shows,
by the scan's byte hash of the image file; see sprites.make_sprites) to the pixel key of the sheet made from it and
its tiles that could not be read. A layout is a promise about file contents only, so it is used only when the run
knows every tile's file by its hash; anything else is filled and keyed by its pixels as above.

Like the other caches the file may sit in a shared folder, so it holds data only: a value that is not a WebP file
is a miss, a layout row that is not exactly a key and a list of cell numbers is a miss, and the sheet is encoded
again. It never stops a run: a file that cannot be opened or written means
encoding every sheet. Size: at most KEEP_SHEETS sheets (a sheet holds 1,024 tiles, so a 100,000-row explorer has
98); the least recently used ones are deleted first.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FILE_NAME = "sprite-cache.sqlite"
KEEP_SHEETS = 500  # five 100,000-row explorers


def sheet_key(sheet: np.ndarray, settings: str) -> str:
    """Digest of a filled sheet's ((height, width, 3) RGB array) size, pixels and the encoder settings (the same
    key as for the image of that array)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"RGB {(sheet.shape[1], sheet.shape[0])} {settings}".encode())
    digest.update(np.ascontiguousarray(sheet).data)
    return digest.hexdigest()


def layout_key(identities: Sequence[str], settings: str) -> str:
    """Digest of what each tile of a sheet shows (in order) and of everything else that decides its pixels."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"layout {settings}\n".encode())
    digest.update("\n".join(identities).encode())
    return digest.hexdigest()


def is_webp(data: object) -> bool:
    return isinstance(data, bytes) and len(data) > 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP"


class SpriteCache:
    """get(key) -> WebP bytes or None, put(key, bytes); prune() keeps the KEEP_SHEETS most recently used."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / FILE_NAME
        self._db: sqlite3.Connection | None = None
        self._now = time.time()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10)
            db.execute("PRAGMA trusted_schema=OFF")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS sheets (key TEXT PRIMARY KEY, used REAL, webp BLOB)")
            db.execute("CREATE TABLE IF NOT EXISTS layouts (key TEXT PRIMARY KEY, used REAL, sheet TEXT, "
                       "missing TEXT)")
            db.commit()
            self._db = db
        except (OSError, sqlite3.Error):
            pass  # no sprite cache: every sheet is encoded (the scan cache beside it reports an unusable folder)

    @property
    def usable(self) -> bool:
        return self._db is not None

    def get(self, key: str) -> bytes | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT webp FROM sheets WHERE key = ?", (key,)).fetchone()
            if row is None or not is_webp(row[0]):
                return None
            with self._db:
                self._db.execute("UPDATE sheets SET used = ? WHERE key = ?", (self._now, key))
        except sqlite3.Error:
            return None
        return row[0]

    def layout(self, key: str) -> tuple[str, list[int]] | None:
        """The pixel key and the unreadable cells of the sheet made from this layout, or None."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT sheet, missing FROM layouts WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None or not isinstance(row[0], str) or not isinstance(row[1], str):
            return None
        try:
            missing = json.loads(row[1])
        except ValueError:
            return None
        if not isinstance(missing, list) or not all(type(cell) is int and cell >= 0 for cell in missing):
            return None
        return row[0], missing

    def put_layout(self, key: str, sheet: str, missing: list[int]) -> None:
        if self._db is None:
            return
        try:
            with self._db:
                self._db.execute("INSERT OR REPLACE INTO layouts VALUES (?, ?, ?, ?)",
                                 (key, self._now, sheet, json.dumps(missing)))
        except sqlite3.Error:
            self.close()

    def put(self, key: str, webp: bytes) -> None:
        if self._db is None:
            return
        try:
            with self._db:
                self._db.execute("INSERT OR REPLACE INTO sheets VALUES (?, ?, ?)", (key, self._now, webp))
        except sqlite3.Error:
            self.close()  # from here on every sheet is encoded

    def prune(self, keep: int = KEEP_SHEETS) -> None:
        if self._db is None:
            return
        try:
            with self._db:
                self._db.execute("DELETE FROM sheets WHERE key NOT IN (SELECT key FROM sheets ORDER BY used DESC "
                                 "LIMIT ?)", (keep,))
                self._db.execute("DELETE FROM layouts WHERE sheet NOT IN (SELECT key FROM sheets)")
        except sqlite3.Error:
            pass  # a cache we cannot trim is still a cache; the next run tries again

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
