"""Image paths that are URLs (s3://, gs://, https://, memory://, ...): read through fsspec (the optional `remote`
extra) within the scan's byte cap, and keyed in the scan cache by the store's own checksum (ETag) or by size and
modification time.

fsspec is imported only when a URL is met, so local audits never need it. `file://` URLs are not URLs here: they
name local files (`local_path_of`) and get the local reader's checks (regular files only, --confine-to-root).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from ..errors import AuditUsageError
from .safe_read import ReadRefused

INSTALL_HINT = "pip install 'dataset-audit[remote]'"
# scheme:// with an optional fsspec chain in front (simplecache::s3://...). One-letter schemes are not URLs: C://x.
_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*::)*[A-Za-z][A-Za-z0-9+.\-]+://")
LOCAL_PREFIXES = ("file://", "local://")
# info() fields that change whenever the content does, best first: a checksum, then a modification time. A file
# whose info() has none of them is not cached (we could not tell that it changed).
CHECKSUM_FIELDS = ("ETag", "etag", "md5Hash", "md5", "Content-MD5", "content_md5", "checksum", "crc32c", "Digest")
TIME_FIELDS = ("LastModified", "last_modified", "Last-Modified", "mtime", "updated", "modified", "created")
LIST_FOLDER_FROM = 4  # with this many wanted files in one folder, one listing beats one request per file
NO_LISTING = frozenset({"http", "https"})  # an HTTP "folder" is an HTML page, not a listing with checksums
INFO_THREADS = 16  # info() requests in flight when keying remote files (network-bound, not CPU-bound)

CacheKey = tuple[int, int]  # (size, int64 digest of the checksum or time): the cache's (size, mtime_ns) columns


def is_url(text: str) -> bool:
    """Whether an image path is a URL read through fsspec (file:// and local:// are local paths, not URLs)."""
    return "://" in text and bool(_URL.match(text)) and not text.startswith(LOCAL_PREFIXES)


def local_path_of(text: str) -> str | None:
    """The local path a file:// or local:// URL names, as fsspec reads it (no percent-decoding); None otherwise."""
    for prefix in LOCAL_PREFIXES:
        if text.startswith(prefix):
            rest = text[len(prefix):]
            return rest[len("localhost"):] if rest.startswith("localhost/") else rest
    return None


def protocols(url: str) -> list[str]:
    """The fsspec protocols of a URL, outermost first: simplecache::s3://b/k -> ['simplecache', 's3']."""
    head = url.split("://", 1)[0]
    return [part.lower() for part in head.split("::")]


def require_support(urls: Iterable[tuple[str, str]]) -> None:
    """A usage error when fsspec, or the package of a protocol fsspec knows (s3fs for s3://), is not installed:
    every such row would fail. `urls`: (where, url) pairs, e.g. ("row 3", "s3://bucket/a.jpg"); the first URL of
    each protocol is named. A protocol fsspec does not know is left to the scan: one odd cell is a finding for
    its row, not a failed run."""
    first_by_protocol: dict[str, tuple[str, str]] = {}
    for where, url in urls:
        for protocol in protocols(url):
            first_by_protocol.setdefault(protocol, (where, url))
    if not first_by_protocol:
        return
    where, url = next(iter(first_by_protocol.values()))
    try:
        import fsspec
    except ImportError:
        raise AuditUsageError(f"{where}: the image path {url!r} is a URL; reading URLs needs fsspec, which is not "
                              f"installed: {INSTALL_HINT}") from None
    for protocol, (where, url) in first_by_protocol.items():
        try:
            fsspec.get_filesystem_class(protocol)
        except ValueError:  # "Protocol not known": the scan reports it for each such row
            continue
        except ImportError as exc:  # fsspec's message says what to install: "Install s3fs to access S3"
            raise AuditUsageError(f"{where}: cannot read the URL {url!r}: {exc}") from None


def _fsspec():
    try:
        import fsspec
    except ImportError:
        raise ReadRefused("io_error", "this is a URL, and fsspec is not installed where the image was read "
                          f"({INSTALL_HINT}; on a Dask cluster, on every worker)") from None
    return fsspec


def read_url(url: str, max_bytes: int) -> bytes:
    """The object's bytes, or ReadRefused: missing, a folder, larger than max_bytes, or not reachable."""
    fsspec = _fsspec()
    try:
        with fsspec.open(url, "rb") as handle:
            size = getattr(handle, "size", None)
            if isinstance(size, int) and size > max_bytes:
                raise ReadRefused("file_too_large", f"file is {size:,} bytes, above the limit of {max_bytes:,} "
                                  "(--max-file-bytes); not read")
            data = handle.read(max_bytes + 1)  # never more than the cap, whatever the store said the size was
    except ReadRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - every store and transport has its own exceptions; each is a finding
        raise _refusal(url, exc) from None
    if len(data) > max_bytes:
        raise ReadRefused("file_too_large", f"file is larger than the limit of {max_bytes:,} bytes "
                          "(--max-file-bytes); not read")
    return data


def _refusal(url: str, exc: Exception) -> ReadRefused:
    # fsspec's HTTP filesystem reports an unreachable host as FileNotFoundError caused by the connection error:
    # that is an io_error (the file may well exist), not a missing file.
    cause = exc.__cause__
    unreachable = isinstance(cause, OSError) and not isinstance(cause, FileNotFoundError)
    if isinstance(exc, FileNotFoundError) and not unreachable:
        return ReadRefused("missing", "file does not exist", status="missing")
    if isinstance(exc, IsADirectoryError):
        return ReadRefused("is_directory", "path is a folder, not a file", status="missing")
    reason = cause if unreachable else exc
    return ReadRefused("io_error", f"cannot read {url}: {type(reason).__name__}: {reason}"[:300])


def key_of(info: dict[str, Any]) -> CacheKey | None:
    """The cache key of a remote file from its info(): (size, digest of its checksum, else of its modification
    time); None when info() gives neither, so the file is decoded every run rather than trusted stale."""
    if info.get("type", "file") != "file":
        return None
    size = info.get("size")
    for name in (*CHECKSUM_FIELDS, *TIME_FIELDS):
        value = info.get(name)
        if isinstance(value, datetime):  # a listing and info() may give the same time as a datetime or a number
            value = value.timestamp()
        if value not in (None, ""):
            digest = hashlib.blake2b(f"{name}={value}".encode(), digest_size=8).digest()
            return (size if isinstance(size, int) else -1, int.from_bytes(digest, "big", signed=True))
    return None


def cache_keys(urls: Sequence[str]) -> dict[str, CacheKey | None]:
    """The cache key of every URL (None: not cacheable, missing or unreachable; the scan reports why).

    Files are grouped by folder: a folder with LIST_FOLDER_FROM or more wanted files is listed once (an S3 listing
    returns 1,000 objects with their ETags per request), the rest get one info() each, INFO_THREADS at a time.
    Memory: one folder's listing at a time."""
    keys: dict[str, CacheKey | None] = dict.fromkeys(urls)
    if not urls:
        return keys
    try:
        fsspec = _fsspec()
    except ReadRefused:
        return keys
    by_folder: dict[str, list[str]] = defaultdict(list)
    for url in urls:
        by_folder[posixpath.dirname(url)].append(url)
    singles: list[str] = []
    for folder, members in by_folder.items():
        if len(members) >= LIST_FOLDER_FROM and protocols(members[0])[-1] not in NO_LISTING:
            singles += _keys_from_listing(fsspec, folder, members, keys)
        else:
            singles += members
    with ThreadPoolExecutor(max_workers=min(INFO_THREADS, max(1, len(singles)))) as pool:
        for url, key in zip(singles, pool.map(lambda u: _key_from_info(fsspec, u), singles), strict=True):
            keys[url] = key
    return keys


def _keys_from_listing(fsspec, folder: str, members: list[str], keys: dict[str, CacheKey | None]) -> list[str]:
    """Fill keys from one listing of `folder`; returns the members it did not cover (for info())."""
    try:
        fs, folder_path = fsspec.core.url_to_fs(folder)
        listing = {fs._strip_protocol(entry["name"]): entry for entry in fs.ls(folder_path, detail=True)}
        fs.invalidate_cache(folder_path)  # s3fs and gcsfs keep listings; ours is used once
    except Exception:  # noqa: BLE001 - no listing (permissions, not a folder): fall back to one info() per file
        return members
    left = []
    for url in members:
        entry = listing.get(fs._strip_protocol(fsspec.core.url_to_fs(url)[1]))
        if entry is None:
            left.append(url)
        else:
            keys[url] = key_of(entry)
    return left


def _key_from_info(fsspec, url: str) -> CacheKey | None:
    try:
        fs, path = fsspec.core.url_to_fs(url)
        return key_of(fs.info(path))
    except Exception:  # noqa: BLE001 - missing or unreachable: not cached, and the read reports why
        return None
