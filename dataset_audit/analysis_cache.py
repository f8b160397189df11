"""Analyser results kept between runs: a warm re-run of an unchanged dataset recomputes nothing.

A section is stored under a key made of everything its analyser can read: the table (every cell), the scan's
features (records, thumbnails, which rows share a file), the files the config points at (probabilities, embeddings:
by path, size and modification time), the run's settings that reach analysers, the analyser's own settings, and the
code (a digest of this package's source files, so an upgrade or an edit never serves a stale section). Any change
to any of them is a different key, so the analyser runs again; nothing is ever patched.

Like the scan cache, the file may live in a shared folder, so it holds data, never code: sections are JSON with a
small set of tags (the report dataclasses of model.py by name, numpy arrays as dtype + shape + bytes, tuples, maps
with non-string keys) and decoding refuses anything else. A row that does not decode is a miss. The cache never
stops a run: a file that cannot be opened or written means running without it, with a note.

Growth: hashing the inputs reads the table, the features frame and the thumbnails once (linear in the images);
each stored section is as large as the section (the t-SNE map's points dominate).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import sqlite3
import time
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import model
from .config import Config
from .dataset import Table
from .model import Analyser, Section
from .scan.features import Features
from .settings import SettingValues

FILE_NAME = "analysis-cache.sqlite"
KEEP_PER_ANALYSER = 3  # stored sections per analyser (older ones are deleted): a few datasets or configs side by side
SCHEMA = 1  # bump when the encoding below changes
# Config fields that cannot change what an analyser computes (where the report goes, how many workers, gates).
_CONFIG_IGNORED = {"out", "jobs", "dask", "cache_dir", "use_cache", "quiet", "force", "only", "skip", "fail_on",
                   "baseline_file", "config_source", "analysers"}
_DATACLASSES = {cls.__name__: cls for cls in (model.Section, model.Finding, model.Chart, model.TableBlock,
                                                model.MontageItem, model.Montage, model.ImageBlock,
                                                model.ImageGallery, model.Explorer)}


class NotStorable(Exception):
    """A section holds a value the encoding does not cover: it is simply not cached."""


# --- keys -------------------------------------------------------------------------------------------------------

@cache
def code_digest() -> str:
    """Digest of this package's Python source: any edit or upgrade gives new keys."""
    digest = hashlib.blake2b(digest_size=16)
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _frame_digest(digest: Any, frame: pd.DataFrame) -> None:
    digest.update(repr([(str(name), str(dtype)) for name, dtype in frame.dtypes.items()]).encode())
    if len(frame):
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())


def _file_stamp(path: Path | None) -> str:
    if path is None:
        return "-"
    try:
        stat = Path(path).stat()
    except OSError:
        return f"{path}:absent"
    return f"{Path(path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def input_digest(table: Table, features: Features | None, config: Config) -> str | None:
    """One digest of everything analysers read, or None when some input cannot be hashed (then nothing is cached)."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"schema {SCHEMA} code {code_digest()}".encode())
    settings = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name not in _CONFIG_IGNORED}
    settings["probs"], settings["embeddings"] = _file_stamp(config.probs), _file_stamp(config.embeddings)
    digest.update(repr(sorted((k, repr(v)) for k, v in settings.items())).encode())
    try:
        _frame_digest(digest, table.frame)
        if features is not None:
            _frame_digest(digest, features.frame)
            digest.update(np.ascontiguousarray(features.thumbs).data)
            digest.update(np.ascontiguousarray(features.file_ids, dtype=np.int64).data)
    except (TypeError, ValueError):  # e.g. a cell holding an unhashable object
        return None
    return digest.hexdigest()


def section_key(inputs: str, analyser: Analyser, settings: SettingValues) -> str:
    values = {s.name: getattr(settings, s.name) for s in analyser.settings}
    text = f"{inputs}|{analyser.name}|{sorted((k, repr(v)) for k, v in values.items())}"
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


# --- encoding ---------------------------------------------------------------------------------------------------

def encode(value: Any) -> Any:
    """A JSON-able form of a section (and everything in it)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            return {"__list__": encode(value.tolist())}
        array = np.ascontiguousarray(value)
        return {"__ndarray__": array.dtype.str, "shape": list(array.shape),
                "data": base64.b64encode(array.tobytes()).decode("ascii")}
    if dataclasses.is_dataclass(value) and type(value).__name__ in _DATACLASSES:
        return {"__dc__": type(value).__name__,
                "fields": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"__map__": [[encode(k), encode(v)] for k, v in value.items()]}
    raise NotStorable(type(value).__name__)


def decode(value: Any) -> Any:
    """The inverse of encode, building only the dataclasses of model.py; anything else raises ValueError."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise ValueError(f"unexpected {type(value).__name__}")
    if "__dc__" in value:
        cls = _DATACLASSES.get(value["__dc__"])
        if cls is None or not isinstance(value.get("fields"), dict):
            raise ValueError(f"unknown record type {value['__dc__']!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        fields = value["fields"]
        if set(fields) - names:
            raise ValueError(f"{value['__dc__']}: unknown fields")
        return cls(**{k: decode(v) for k, v in fields.items()})
    if "__ndarray__" in value:
        dtype = np.dtype(value["__ndarray__"])
        if dtype.kind not in "biuf":
            raise ValueError("array of an unexpected type")
        shape = tuple(int(s) for s in value["shape"])
        array = np.frombuffer(base64.b64decode(value["data"]), dtype=dtype)
        return array.reshape(shape).copy()
    if "__list__" in value:
        return np.array(decode(value["__list__"]), dtype=object)
    if "__tuple__" in value:
        return tuple(decode(v) for v in value["__tuple__"])
    if "__map__" in value:
        return {_hashable(decode(k)): decode(v) for k, v in value["__map__"]}
    return {k: decode(v) for k, v in value.items()}


def _hashable(key: Any) -> Any:
    if isinstance(key, list | dict):
        raise ValueError("unhashable map key")
    return key


def _dumps(section: Section) -> bytes:
    text = json.dumps(encode(section), separators=(",", ":"), allow_nan=True)
    return zlib.compress(text.encode(), 6)


def _loads(body: bytes) -> Section:
    value = decode(json.loads(zlib.decompress(body)))
    if not isinstance(value, Section):
        raise ValueError("not a section")
    if any(isinstance(number, bool) or not isinstance(number, int | float) for number in value.metrics.values()):
        raise ValueError("a metric that is not a number")
    return value


# --- the store --------------------------------------------------------------------------------------------------

class AnalysisCache:
    """get(key) -> Section | None and put(key, analyser, section), over one SQLite file in the cache folder."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / FILE_NAME
        self.notes: list[str] = []
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10)
            db.execute("PRAGMA trusted_schema=OFF")
            db.execute("CREATE TABLE IF NOT EXISTS sections (key TEXT PRIMARY KEY, analyser TEXT, "
                       "stored REAL, body BLOB)")
            db.commit()
            self._db = db
        except (OSError, sqlite3.Error) as exc:
            self.notes.append(f"the analysis cache {self.path} cannot be used ({exc}): every analyser ran")

    def get(self, key: str) -> Section | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT body FROM sections WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None or not isinstance(row[0], bytes):
            return None
        try:
            return _loads(row[0])
        except (ValueError, TypeError, KeyError, zlib.error, json.JSONDecodeError):
            return None  # a damaged or foreign row is a miss; put() overwrites it

    def put(self, key: str, analyser: str, section: Section) -> None:
        if self._db is None:
            return
        try:
            body = _dumps(section)
        except NotStorable:
            return
        try:
            with self._db:
                self._db.execute("INSERT OR REPLACE INTO sections VALUES (?, ?, ?, ?)",
                                 (key, analyser, time.time(), body))
                self._db.execute("DELETE FROM sections WHERE analyser = ? AND key NOT IN (SELECT key FROM sections "
                                 "WHERE analyser = ? ORDER BY stored DESC LIMIT ?)",
                                 (analyser, analyser, KEEP_PER_ANALYSER))
        except sqlite3.Error as exc:
            self.notes.append(f"the analysis cache {self.path} could not be written ({exc})")
            self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
