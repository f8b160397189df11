"""Read an image file without trusting it: regular files only, never blocking on open, a byte cap, a time limit.

A table may name anything: a FIFO (open() would wait forever for a writer), /dev/zero (read() never ends), a
socket, a 50 GB file. Every such path must become a finding for its row, never a hang or a MemoryError that
stops the run. `read_image_file` raises `ReadRefused` (with a record error_kind) for all of them; `time_limit`
bounds the whole decode of one image (`time_limits`, of each of many in a row).
"""

from __future__ import annotations

import os
import signal
import stat
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024  # far above any real image file; a bound on one worker's memory
DEFAULT_SECONDS_PER_IMAGE = 60.0  # a 100 MP PNG decodes in a few seconds; a minute means something is wrong
READ_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class ScanLimits:
    """Per-image bounds that keep one file from stalling the run or exhausting a worker's memory."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    seconds_per_image: float = DEFAULT_SECONDS_PER_IMAGE


class ReadRefused(Exception):
    """The path is not something we read; `kind` is the record's error_kind, `status` its status."""

    def __init__(self, kind: str, message: str, status: str = "unreadable") -> None:
        super().__init__(message)
        self.kind, self.status = kind, status


class ImageTimeout(BaseException):
    """Raised inside a decode that took longer than the per-image time limit. A BaseException, like
    KeyboardInterrupt, so that no `except Exception` inside a decoder plugin swallows it."""


_FILE_TYPES = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _irregular(mode: int) -> str:
    return next((name for test, name in _FILE_TYPES if test(mode)), "not a regular file")


def _check_regular(st: os.stat_result, max_bytes: int) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise ReadRefused("is_directory", "path is a folder, not a file", status="missing")
    if not stat.S_ISREG(st.st_mode):
        raise ReadRefused("not_regular_file", f"path is {_irregular(st.st_mode)}, not a regular file; not read")
    if st.st_size > max_bytes:
        raise ReadRefused("file_too_large", f"file is {st.st_size:,} bytes, above the limit of {max_bytes:,} "
                          "(--max-file-bytes); not read")


def read_image_file(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """The whole file, or ReadRefused: missing, invalid path, folder, not a regular file, larger than max_bytes.
    A URL (s3://, https://, ...) is read through fsspec with the same byte cap (scan/remote.py)."""
    from . import remote  # here, not at the top: remote.py imports ReadRefused from this module

    if remote.is_url(path):
        return remote.read_url(path, max_bytes)
    path = remote.local_path_of(path) or path
    try:
        _check_regular(os.stat(path), max_bytes)  # before open(): opening a FIFO blocks until a writer appears
    except FileNotFoundError:
        raise ReadRefused("missing", "file does not exist", status="missing") from None
    except ValueError:  # an embedded NUL byte: no such file can exist
        raise ReadRefused("invalid_path", "path contains a NUL byte; no file can have this name",
                          status="missing") from None
    except OSError as exc:
        raise ReadRefused("io_error", f"cannot read file: {exc.strerror or exc}") from None
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO after the stat, open() still returns at once.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
                             | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ReadRefused("io_error", f"cannot read file: {exc.strerror or exc}") from None
    try:
        _check_regular(os.fstat(descriptor), max_bytes)  # the file we opened, not the one we stat'ed
        return _read_capped(descriptor, max_bytes)
    except OSError as exc:
        raise ReadRefused("io_error", f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)


def _read_capped(descriptor: int, max_bytes: int) -> bytes:
    """Read to the end, but never more than max_bytes (a file may grow after the stat)."""
    chunks: list[bytes] = []
    total = 0
    while True:
        block = os.read(descriptor, min(READ_BLOCK, max_bytes + 1 - total))
        if not block:
            return b"".join(chunks)
        chunks.append(block)
        total += len(block)
        if total > max_bytes:
            raise ReadRefused("file_too_large", f"file grew past the limit of {max_bytes:,} bytes while being "
                              "read (--max-file-bytes); not read")


def _raise_timeout(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    raise ImageTimeout()


class _Deadline:
    """One body's real-time interval timer (time_limits): only setitimer, the handler is already in place."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> bool:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return False


@contextmanager
def time_limits(seconds: float) -> Iterator[Callable[[], AbstractContextManager[None]]]:
    """time_limit for many bodies in a row (a worker's chunk of images): yields a function that returns one body's
    context manager. The SIGALRM handler is installed once for all of them, each body only starts and stops the
    timer; the same rules as time_limit (main thread, seconds > 0, setitimer available), else no limit."""
    usable = (seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield nullcontext
        return
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    try:
        yield lambda: _Deadline(seconds)
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:  # even if the timer fired on the way out: the handler is always restored
            signal.signal(signal.SIGALRM, previous)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ImageTimeout in the body after `seconds` (a real-time interval timer and SIGALRM).

    Only the main thread of a process can receive the signal; elsewhere (or with seconds <= 0, or on platforms
    without setitimer) the body runs unbounded. Pillow decodes in blocks and returns to Python between them, so the
    exception lands within one block's decode time.
    """
    with time_limits(seconds) as limit, limit():
        yield


# Filters a worker thread's reads rely on (quiet_warnings): Pillow's warnings and this package's scan modules'.
_WORKER_FILTER_MODULES = (r"PIL(\.|$)", r"dataset_audit\.scan(\.|$)")
_worker_filters_lock = threading.Lock()


@contextmanager
def quiet_warnings(category: type[Warning] = Warning) -> Iterator[None]:
    """Warnings raised while reading images are not printed: what matters about a damaged file (corrupt EXIF, a
    truncated tag, a decompression bomb) is in its record.

    In the main thread: warnings.catch_warnings, restored on the way out. In other threads (Dask workers run tasks
    in threads) catch_warnings is not thread-safe: chunks entering and leaving it at the same time restore each
    other's filter lists, and a Dask worker of 4 threads was left ignoring every warning for whatever it ran next.
    There, two narrow filters (every warning raised from Pillow's modules and from dataset_audit.scan's, whatever
    `category`) are kept in the process's filters: added when missing, checked on every call, since another
    thread's catch_warnings may put back a list without them. The only lasting change the scan makes to a worker."""
    if threading.current_thread() is threading.main_thread():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category)
            yield
        return
    if not _worker_filters_present():
        with _worker_filters_lock:
            if not _worker_filters_present():
                for module in _WORKER_FILTER_MODULES:
                    warnings.filterwarnings("ignore", module=module)
    yield


def _worker_filters_present() -> bool:
    # A filter's module is a compiled pattern, None, or (put there by hand by some library) a plain string.
    present = {getattr(f[3], "pattern", f[3]) for f in warnings.filters if f[0] == "ignore" and f[2] is Warning}
    return all(module in present for module in _WORKER_FILTER_MODULES)
