"""Small JPEG thumbnails as data URIs for the rows a report shows (montages, findings, the explorer sample).

This re-opens only the capped set of images the report displays (a few thousand at most, whatever the dataset
size); the per-image statistics all come from the single scan.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from ..parallel import process_map
from ..scan.decode import load_preview

EXPLORER_QUALITY_ABOVE = 48  # thumbnails this small (explorer hover images) use a lower JPEG quality


def _encode(image: Image.Image, quality: int = 80) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnail_uri(path: Path | str | None, side: int) -> str | None:
    """A data URI of the image shrunk to fit side x side, or None when it cannot be read."""
    if path is None:
        return None
    # The scan's reader and limits: a FIFO, a device or a huge file in a finding must not hang the report either.
    rgb = load_preview(str(path), side)
    if rgb is None:  # unreadable files are already findings; the report shows a placeholder
        return None
    # Small images (CIFAR's 32 px) stay as they are: the page scales them up with pixelated rendering, which costs
    # nothing in bytes.
    rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
    return _encode(rgb, quality=80 if side > EXPLORER_QUALITY_ABOVE else 70)


def _job(args: tuple[int, str | None, int]) -> tuple[int, str | None]:
    position, path, side = args
    return position, thumbnail_uri(path or None, side)  # a str, not a Path: Path would collapse a URL's //


def make_thumbnails(requests: dict[int, int], paths: Mapping[int, Path | str | None] | list[Path | str | None],
                    jobs: int = 1,
                    progress: Callable[[int], None] | None = None) -> dict[int, str | None]:
    """{position: side} -> {position: data URI or None}."""
    work = [(pos, str(paths[pos]) if paths[pos] is not None else None, side) for pos, side in requests.items()]
    out: dict[int, str | None] = {}
    for pos, uri in process_map(_job, work, jobs=jobs, chunksize=32, serial_below=200):
        out[pos] = uri
        if progress:
            progress(1)
    return out


def array_uri(pixels: np.ndarray, display: int = 96) -> str:
    """A computed picture (mean image etc.) upscaled for display, as a PNG data URI."""
    array = np.asarray(pixels)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    image = Image.fromarray(array)
    if max(image.size) < display:
        scale = display / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    # zlib's default level, not optimize=True: on a smooth 96 px picture (a class mean) a third of the time for 1%
    # more bytes (the commit that made this change gives the figures); a report has a few hundred of them.
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
