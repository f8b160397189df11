"""What every reporter is (a name, a default file name, a render function) and the one way report files are written.

A reporter turns an AuditResult into text and never computes a statistic. Every report file goes through
`write_atomically`: the text is written to a temporary file in the same folder and renamed over the target, so an
interrupted or failed run leaves the previous report intact (never a half-written one), and a symbolic link at the
target is replaced, never followed (a link cannot make the tool write outside the report folder).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..pipeline import AuditResult

ProgressFactory = Callable[[str, int], Callable[[int], None]]


class Reporter(Protocol):
    """One output format. `render` returns the whole file's text; `write_report` writes it atomically, through the
    reporter's `pieces` method when it has one (the same text as an iterable of strings, for files too large to
    hold as one string)."""

    name: str  # e.g. "html"
    filename: str  # default file name inside --out, e.g. "report.html"

    def render(self, result: AuditResult, progress: ProgressFactory | None = None) -> str: ...


def write_atomically(path: Path, text: str | Iterable[str]) -> Path:
    """Write `text` (UTF-8; a string, or pieces of one written as they come) to `path` via a temporary sibling and
    a rename. Returns the path written."""
    path = Path(path)
    folder = path.parent
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            if isinstance(text, str):
                stream.write(text)
            else:
                stream.writelines(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)  # rename(2) replaces a symlink at `path`; it never follows it
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_report(reporter: Reporter, result: AuditResult, folder: Path, progress: ProgressFactory | None = None,
                 filename: str | None = None) -> Path:
    """Render with `reporter` and write `folder/filename` (the reporter's default name) atomically."""
    pieces = getattr(reporter, "pieces", None)
    text = pieces(result, progress) if pieces is not None else reporter.render(result, progress)
    return write_atomically(Path(folder) / (filename or reporter.filename), text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
