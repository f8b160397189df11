"""Scan cache: one SQLite file keyed by absolute path, valid while (size, mtime, feature version) match."""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from .decode import FEATURE_VERSION

BATCH = 900  # SQLite's default limit on host parameters is 999


class ScanCache:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "scan-cache.sqlite"
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS images (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
            "version INTEGER, record BLOB, thumb BLOB)"
        )

    def lookup(self, keys: dict[str, tuple[int, int]]) -> dict[str, tuple[tuple, bytes]]:
        """Cached (values, thumb) for every path whose size and mtime still match."""
        found: dict[str, tuple[tuple, bytes]] = {}
        paths = list(keys)
        for start in range(0, len(paths), BATCH):
            batch = paths[start:start + BATCH]
            marks = ",".join("?" * len(batch))
            cursor = self._db.execute(
                f"SELECT path, size, mtime_ns, version, record, thumb FROM images WHERE path IN ({marks})", batch
            )
            for path, size, mtime_ns, version, record, thumb in cursor:
                if version == FEATURE_VERSION and (size, mtime_ns) == keys[path]:
                    found[path] = (pickle.loads(record), thumb)
        return found

    def store(self, entries: Iterable[tuple[str, int, int, tuple, bytes]]) -> None:
        rows = [(p, s, m, FEATURE_VERSION, pickle.dumps(values, protocol=5), thumb) for p, s, m, values, thumb in entries]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()
