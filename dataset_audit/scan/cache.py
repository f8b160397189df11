"""Scan cache: one SQLite file keyed by absolute path, valid while (size, mtime, feature version) match.

The cache folder may be shared, so its content is data, never code: a record is a JSON array of numbers, strings
and booleans checked against RECORD_COLUMNS on the way in, and a thumbnail is raw bytes of a fixed length. Nothing
is unpickled (a pickled row could run any command). A row that does not check out is a cache miss: the image is
decoded again and the row overwritten.

The cache never stops a run: a corrupt file is moved aside and rebuilt, and a folder that cannot be written means
running without the cache. Both leave a warning in `warnings`.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .decode import FEATURE_VERSION, RECORD_COLUMNS, THUMB_SIZE

BATCH = 900  # SQLite's default limit on host parameters is 999
FILE_NAME = "scan-cache.sqlite"
THUMB_BYTES = THUMB_SIZE * THUMB_SIZE * 3
# SQLite primary result codes meaning the file is not a (healthy) database, as opposed to one we cannot write.
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_COLUMN_TYPES = [type(default) for default in RECORD_COLUMNS.values()]
_EXACT_TYPES = tuple(_COLUMN_TYPES)  # a record without NaN decodes to exactly these types: the fast path

# path, size, mtime_ns, record (its values, or their encode_record text), thumbnail, tile
CacheEntry = tuple[str, int, int, tuple | str, bytes, bytes]


def encode_record(values: tuple) -> str:
    """A record as a JSON array; NaN (not valid JSON) is written as null."""
    return json.dumps([None if isinstance(v, float) and math.isnan(v) else v for v in values],
                      separators=(",", ":"), allow_nan=False)


def decode_record(text: object) -> tuple | None:
    """The record values, or None when the stored text is not exactly a record of this feature version."""
    if not isinstance(text, str):
        return None
    try:
        values = json.loads(text)
    except ValueError:
        return None
    if not isinstance(values, list) or len(values) != len(_COLUMN_TYPES):
        return None
    if tuple(map(type, values)) == _EXACT_TYPES:  # one C-level comparison instead of a check per field
        return tuple(values)
    out = []
    for value, kind in zip(values, _COLUMN_TYPES, strict=True):
        if kind is float:
            if value is None:
                value = math.nan
            elif isinstance(value, bool) or not isinstance(value, int | float):
                return None
            out.append(float(value))
        elif type(value) is not kind:  # exact: a bool is not an int here, nor an int a bool
            return None
        else:
            out.append(value)
    return tuple(out)


class ScanCache:
    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / FILE_NAME
        self.warnings: list[str] = []
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._give_up(f"cannot create the cache folder {self.path.parent} ({exc.strerror or exc})")
            return
        self._open()

    @property
    def usable(self) -> bool:
        return self._db is not None

    def _open(self, retry: bool = True) -> None:
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            self._db = None
            if retry and _is_corrupt(exc):
                if self._move_aside(exc):
                    self._open(retry=False)
            else:
                self._give_up(f"cannot use {self.path} ({exc})")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA trusted_schema=OFF")  # the schema comes from a file others may write
            db.execute("PRAGMA journal_mode=WAL")
            # A cache: a power cut may lose the last commits (they are decoded again), never corrupt the file; and
            # no fsync per commit on the scan's main process.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS records (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
                       "version INTEGER, record TEXT, thumb BLOB)")
            db.execute("DROP TABLE IF EXISTS images")  # the pickled rows of feature versions <= 3: never read
            columns = {row[1] for row in db.execute("PRAGMA table_info(records)")}
            if "tile" not in columns:  # a cache written before display tiles were stored (feature version <= 5)
                db.execute("ALTER TABLE records ADD COLUMN tile BLOB")
            db.commit()
            db.execute("SELECT path, size, mtime_ns, version, record, thumb, tile FROM records LIMIT 1").fetchall()
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self, exc: sqlite3.DatabaseError) -> bool:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{FILE_NAME}.corrupt-{stamp}")
        try:
            self.path.replace(aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        except OSError as move_error:
            self._give_up(f"{self.path} is corrupt ({exc}) and cannot be moved aside ({move_error})")
            return False
        self.warnings.append(f"the scan cache {self.path} was corrupt ({exc}); it was moved to {aside.name} and "
                             "is being rebuilt")
        return True

    def _give_up(self, why: str) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self.warnings.append(f"{why}: running without the scan cache")

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """After an error in use: a corrupt file is moved aside and rebuilt, anything else disables the cache."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if _is_corrupt(exc):
            if self._move_aside(exc):
                self._open(retry=False)
        else:
            self._give_up(f"cannot use {self.path} ({exc})")

    def _select(self, columns: str, paths: list[str]) -> Iterator[tuple]:
        """Rows of `columns` for these paths, BATCH at a time (SQLite's limit on host parameters); raises
        sqlite3.DatabaseError for the caller to recover from."""
        for start in range(0, len(paths), BATCH):
            if self._db is None:
                return
            batch = paths[start:start + BATCH]
            marks = ",".join("?" * len(batch))
            yield from self._db.execute(f"SELECT {columns} FROM records WHERE path IN ({marks})", batch)

    def lookup(self, keys: dict[str, tuple[int, int]]) -> dict[str, tuple[tuple, bytes]]:
        """Cached (values, thumb) for every path whose size and mtime still match and whose row checks out."""
        found: dict[str, tuple[tuple, bytes]] = {}
        try:
            for path, size, mtime_ns, version, record, thumb in self._select(
                    "path, size, mtime_ns, version, record, thumb", list(keys)):
                if version != FEATURE_VERSION or (size, mtime_ns) != keys.get(path):
                    continue
                values = decode_record(record)
                if values is not None and isinstance(thumb, bytes) and len(thumb) in (0, THUMB_BYTES):
                    found[path] = (values, thumb)
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            return {}  # rows read from a corrupt file are not trusted either
        return found

    def store(self, entries: Iterable[CacheEntry]) -> int:
        """Write entries in one transaction; returns how many were stored (0 when the cache is unusable)."""
        rows = [(p, s, m, FEATURE_VERSION, values if isinstance(values, str) else encode_record(values), thumb, tile)
                for p, s, m, values, thumb, tile in entries]
        if not rows or self._db is None:
            return 0
        for attempt in (1, 2):
            try:
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO records (path, size, mtime_ns, version, record, thumb, tile) "
                                        "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                return len(rows)
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
                if self._db is None or attempt == 2:
                    return 0
        return 0

    def tiles(self, paths: list[str]) -> dict[str, bytes]:
        """Stored display tiles of these paths (current feature version only); absent or unreadable ones are left
        out, and the caller decodes those images instead."""
        try:
            return {path: tile for path, version, tile in self._select("path, version, tile", paths)
                    if version == FEATURE_VERSION and isinstance(tile, bytes) and tile}
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            return {}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _CORRUPT_CODES
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text
