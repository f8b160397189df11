"""Open and decode one image, once, and compute every per-image feature from that single decode.

Runs inside worker processes: no labels, no table, no config beyond the sizes below. Every failure becomes a
record with status and error_kind set; nothing here raises for a bad file.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .safe_read import (
    ImageTimeout,
    ReadRefused,
    ScanLimits,
    quiet_warnings,
    read_image_file,
    time_limit,
    time_limits,
)

# Bump when a feature's definition changes: cached records of other versions are re-scanned.
# 4: records are stored as JSON, never pickled; new error kinds (not_regular_file, file_too_large, timeout, ...).
# 5: luma_p05 (darkest 5%), for washed-out pictures that keep a thin dark line.
# 6: the luma histogram (entropy, percentiles) bins rounded luma, not truncated.
FEATURE_VERSION = 6
THUMB_SIZE = 16  # per-image RGB thumbnail kept in memory (mean images, embeddings, near-duplicate signatures)
TILE_SIDE = 32  # per-image display tile for the report's explorer, kept on disk (scan/tiles.py): no second decode
WORK_MAX_SIDE = 256  # quality statistics are measured on an image no larger than this on its long side
DRAFT_ABOVE = 512  # JPEGs whose long side exceeds this are decoded at reduced scale (Pillow draft mode)
PHASH_SIZE, PHASH_BITS = 32, 8
# Images with more pixels than this are not decoded at full size: Pillow holds 4 bytes per RGB pixel, so this bounds
# one worker at a few hundred MB. It is Pillow's own decompression-bomb warning size (~89 MP). JPEGs above it are
# decoded at reduced scale (draft); other formats cannot be, so their size and format are read and their pixels not.
MAX_DECODE_PIXELS = int(Image.MAX_IMAGE_PIXELS or 89_478_485)
HASH_STRIP_ROWS = 256  # the pixel hash reads the image in strips, never a second full-size copy

EXTENSION_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jfif": "JPEG", ".png": "PNG", ".gif": "GIF", ".bmp": "BMP",
    ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP", ".ppm": "PPM", ".pgm": "PPM", ".pbm": "PPM",
}

# Scalar columns of a record, in order (the Features frame has exactly these).
RECORD_COLUMNS: dict[str, Any] = {
    "status": "",  # ok | missing | unreadable | skipped (too many pixels to decode; size and format are known)
    "error_kind": "",
    "error": "",
    "file_bytes": -1,
    "format": "",
    "format_mismatch": False,
    "width": 0,
    "height": 0,
    "mode": "",
    "frames": 0,
    "exif_transposed": False,
    "mean_r": np.nan, "mean_g": np.nan, "mean_b": np.nan,
    "std_r": np.nan, "std_g": np.nan, "std_b": np.nan,
    "brightness": np.nan,  # mean luma, 0-255
    "contrast": np.nan,  # std of luma
    "sharpness": np.nan,  # variance of the Laplacian of luma at working size
    "entropy": np.nan,  # bits, luma histogram
    "luma_p01": np.nan,  # 1st percentile of luma, 0-255: the darkest 1% of the pixels are at most this
    "luma_p05": np.nan,  # 5th percentile of luma: the darkest 5% (a line or edge is less, a subject more)
    "luma_p99": np.nan,  # 99th percentile of luma: the brightest 1% are at least this
    "colourfulness": np.nan,  # mean absolute difference between channels; ~0 for grayscale
    "byte_hash": 0,  # first 8 bytes of blake2b of the file, as signed int64
    "pixel_hash": 0,  # blake2b of the decoded pixels and size; 0 = not computed (JPEG decoded at reduced size)
    "phash": 0,  # 64-bit DCT perceptual hash (same bits as imagehash.phash), as signed int64
}


def _dct_matrix(n: int, keep: int) -> np.ndarray:
    """Rows of the unnormalised DCT-II matrix (scipy.fftpack.dct's convention), first `keep` frequencies."""
    k = np.arange(keep)[:, None]
    i = np.arange(n)[None, :]
    return (2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))).astype(np.float64)


_DCT = _dct_matrix(PHASH_SIZE, PHASH_BITS)
_BIT_WEIGHTS = (1 << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)


def phash_bits(gray32: np.ndarray) -> np.ndarray:
    """The 64 pHash bits of a 32x32 luma array: low 8x8 DCT coefficients above their median."""
    return phash_bits_many(gray32[None])[0]


def phash_bits_many(gray32: np.ndarray) -> np.ndarray:
    """(n, 64) pHash bits of n 32x32 luma arrays ((n, 32, 32)), one matrix product for all of them."""
    low = (_DCT @ gray32.astype(np.float64) @ _DCT.T).reshape(len(gray32), -1)
    half = low.shape[1] // 2
    middle = np.sort(low, axis=1)[:, half - 1: half + 1]  # np.median's two middle values, without its overhead
    return low > (middle[:, :1] + middle[:, 1:]) / 2


def bits_to_int64(bits: np.ndarray) -> int:
    value = int((bits.astype(np.uint64) * _BIT_WEIGHTS).sum(dtype=np.uint64))
    return value - (1 << 64) if value >= (1 << 63) else value


def bits_to_int64_many(bits: np.ndarray) -> list[int]:
    """bits_to_int64 of each row of an (n, 64) bit array."""
    return (bits.astype(np.uint64) * _BIT_WEIGHTS).sum(axis=1, dtype=np.uint64).view(np.int64).tolist()


def _digest64(data: bytes | memoryview) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


def _to_rgb(image: Image.Image) -> tuple[Image.Image, bool]:
    """An RGB version of any mode, and whether the source had one channel. 16-bit and float are rescaled."""
    mode = image.mode
    if mode in {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}:
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or array.max(initial=0) > 255 else 255.0
        if mode == "F" and array.size:
            low, high = float(np.nanmin(array)), float(np.nanmax(array))
            array = (array - low) / ((high - low) or 1.0) * 255.0
            top = 255.0
        array = np.clip(array * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(array, "L").convert("RGB"), True
    if mode == "P":
        image = image.convert("RGBA")
    single = image.mode in {"1", "L", "LA", "La"}
    return (image if image.mode == "RGB" else image.convert("RGB")), single


def decode_rgb(image: Image.Image, draft_side: int | None = None) -> tuple[Image.Image, bool, int]:
    """Decode an opened image (at reduced size when draft_side is given and the codec can: JPEG), apply its EXIF
    orientation and convert to RGB. Returns (rgb, whether the source had one channel, EXIF orientation)."""
    if draft_side is not None:
        image.draft("RGB", (draft_side, draft_side))
    image.load()
    orientation = image.getexif().get(0x0112, 1) or 1
    if orientation != 1:
        image = ImageOps.exif_transpose(image)
    rgb, single_channel = _to_rgb(image)
    return rgb, single_channel, int(orientation)


def _classify_error(exc: BaseException) -> str:
    text = str(exc).lower()
    if isinstance(exc, Image.DecompressionBombError):
        return "decompression_bomb"
    if isinstance(exc, UnidentifiedImageError):
        return "not_an_image"
    if "truncated" in text or "broken data stream" in text or "unexpected end" in text or "premature end" in text:
        return "truncated"
    return "decode_error"


def _blank_record() -> dict[str, Any]:
    return dict(RECORD_COLUMNS)


def scan_one(path: str | None, limits: ScanLimits = ScanLimits()) -> tuple[dict[str, Any], bytes]:
    """Record of scalar features and the THUMB_SIZE RGB thumbnail bytes (empty when not decodable)."""
    record, thumb, _ = scan_with_tile(path, limits)
    return record, thumb


def scan_with_tile(path: str | None, limits: ScanLimits = ScanLimits()) -> tuple[dict[str, Any], bytes, bytes]:
    """scan_one plus the image's display tile: JPEG bytes of the image shrunk to fit TILE_SIDE (empty when not
    decodable), so the report shows every row without opening its image again."""
    return scan_many([path], limits)[0]


def scan_many(paths: Sequence[str | None],
              limits: ScanLimits = ScanLimits()) -> list[tuple[dict[str, Any], bytes, bytes]]:
    """scan_with_tile of each path. Small images (at most BATCH_PIXELS) have their statistics and pHash computed
    together once all are decoded, one numpy call per statistic for each group of the same size: for a 32x32
    image numpy's cost per call is most of its statistics' time. The values are those of one image at a time."""
    batch = _Batch()
    # Pillow's warnings about a damaged file (corrupt EXIF, truncated tags) are not printed: what matters about the
    # file is in its record. One warnings filter and one SIGALRM handler for the whole chunk: installed per image,
    # they were a visible share of a 32x32 JPEG's scan under cProfile (the commit that made this change).
    with quiet_warnings(), time_limits(limits.seconds_per_image) as limit:
        out = [_scan_one(path, limits, limit, batch) for path in paths]
    failed = batch.finish()
    for position, (record, _, _) in enumerate(out):
        if id(record) in failed:  # statistics that could not be computed: unreadable, as for one image
            record.update(status="unreadable", error_kind="decode_error",
                          error="the image's statistics could not be computed")
            out[position] = (record, b"", b"")
    return out


def _scan_one(path: str | None, limits: ScanLimits, limit: Callable[[], AbstractContextManager[None]],
              batch: _Batch) -> tuple[dict[str, Any], bytes, bytes]:
    """One file's record, thumbnail and tile; `limit()` bounds its read and decode (safe_read.time_limits)."""
    record = _blank_record()
    if not path:
        record.update(status="missing", error_kind="empty_path", error="the path cell is empty")
        return record, b"", b""
    try:
        with limit():
            data = read_image_file(path, limits.max_file_bytes)
            record["file_bytes"] = len(data)
            record["byte_hash"] = _digest64(data)
            if not data:
                record.update(status="unreadable", error_kind="empty_file", error="file is empty (0 bytes)")
                return record, b"", b""
            thumb, tile = _decode_into(record, data, path, batch)
            return record, thumb, tile
    except ReadRefused as exc:
        record.update(status=exc.status, error_kind=exc.kind, error=str(exc))
    except ImageTimeout:
        record.update(status="unreadable", error_kind="timeout",
                      error=f"reading and decoding took longer than {limits.seconds_per_image:g} s; stopped")
    except Exception as exc:  # noqa: BLE001 - every decoder failure is a finding, never a crash
        record.update(status="unreadable", error_kind=_classify_error(exc), error=f"{type(exc).__name__}: {exc}"[:300])
    batch.discard(record)  # a time limit that struck after the image was queued: no statistics for a failed row
    return record, b"", b""


@contextmanager
def open_image(data: bytes, expected: str | None = None) -> Iterator[Image.Image]:
    """Image.open over bytes, with Pillow's DecompressionBombWarning silenced: a large image is handled (drafted
    or not decoded) and reported by us, never printed to stderr. Pillow's DecompressionBombError (past twice the
    warning size) still raises.

    `expected` (the format the file's extension names) is tried first: without it Pillow asks every registered
    format in turn (four plugins for a JPEG), a large share of a small image's decode. A file not in that format
    is then opened as usual, so a PNG named .jpg is still read (and reported as a mismatch)."""
    with quiet_warnings(Image.DecompressionBombWarning):
        image = None
        if expected is not None:
            try:
                image = Image.open(io.BytesIO(data), formats=(expected,))
            except UnidentifiedImageError:
                image = None
        if image is None:
            image = Image.open(io.BytesIO(data))
    with image:
        yield image


def draft_side_for(image: Image.Image, wanted_side: int) -> int | None:
    """The side to pass to decode_rgb's draft mode: JPEGs larger than wanted are decoded at reduced scale."""
    return wanted_side if image.format == "JPEG" and max(image.size) > wanted_side else None


def too_many_pixels(image: Image.Image, draft_side: int | None) -> bool:
    """Whether decoding would exceed MAX_DECODE_PIXELS (a JPEG in draft mode decodes at 1/2, 1/4 or 1/8 scale,
    chosen as Pillow's JpegImageFile.draft does)."""
    width, height = image.size
    if draft_side is not None:
        fits = min(width // draft_side, height // draft_side)
        scale = next(s for s in (8, 4, 2, 1) if s <= max(fits, 1))
        width, height = -(-width // scale), -(-height // scale)
    return width * height > MAX_DECODE_PIXELS


def load_preview(path: str, side: int, limits: ScanLimits = ScanLimits()) -> Image.Image | None:
    """The image at `path` as RGB, decoded at reduced scale when the codec can, for display; None when it cannot be
    read within the same limits as the scan (regular file, byte cap, time limit, pixel cap)."""
    try:
        with time_limit(limits.seconds_per_image), quiet_warnings():
            data = read_image_file(path, limits.max_file_bytes)
            with open_image(data) as image:
                draft = draft_side_for(image, side * 2)
                if too_many_pixels(image, draft):
                    return None
                rgb, _, _ = decode_rgb(image, draft_side=draft)
                return rgb
    except (Exception, ImageTimeout):  # noqa: BLE001 - unreadable files are findings already; callers show a placeholder
        return None


def _decode_into(record: dict[str, Any], data: bytes, path: str, batch: _Batch) -> tuple[bytes, bytes]:
    expected = EXTENSION_FORMATS.get(os.path.splitext(path)[1].lower())
    with open_image(data, expected) as image:
        record["format"] = image.format or ""
        record["format_mismatch"] = bool(expected and image.format and expected != image.format
                                         and not (expected == "TIFF" and image.format == "MPO")
                                         and not (expected == "JPEG" and image.format == "MPO"))
        record["mode"] = image.mode
        record["frames"] = int(getattr(image, "n_frames", 1) or 1)
        width, height = image.size
        record["width"], record["height"] = int(width), int(height)
        draft = draft_side_for(image, DRAFT_ABOVE)
        if draft is not None:
            draft = WORK_MAX_SIDE
        if too_many_pixels(image, draft):
            record.update(status="skipped", error_kind="very_large", error=(
                f"{width}x{height} ({width * height / 1e6:.0f} MP) is above the decode limit of "
                f"{MAX_DECODE_PIXELS / 1e6:.0f} MP: its size and format were read, its pixels were not decoded"))
            return b"", b""
        rgb, single_channel, orientation = decode_rgb(image, draft)
        if orientation != 1:
            record["exif_transposed"] = True
            if orientation in (5, 6, 7, 8):
                width, height = height, width
        record["width"], record["height"] = int(width), int(height)
    if width * height > MAX_DECODE_PIXELS:  # a drafted JPEG: decoded, but worth a warning
        record["error_kind"] = "very_large"
        record["error"] = f"{width}x{height} exceeds Pillow's decompression-bomb warning size; decoded at reduced scale"
    small = max(rgb.size) <= WORK_MAX_SIDE
    pixels = np.asarray(rgb) if small else None  # one array for the hash and the measurements, not two copies
    if draft is None:
        # Reduced-size decoding is codec-specific, so a drafted JPEG's pixels would never equal the same picture's
        # PNG: no hash rather than a hash that cannot match.
        record["pixel_hash"] = _pixel_hash(rgb, pixels)
    if not small:
        scale = WORK_MAX_SIDE / max(rgb.size)
        work_size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(work_size, Image.Resampling.BILINEAR, reducing_gap=2.0)  # a new small image, no full copy
        pixels = np.asarray(rgb)
    # An image of the pHash's size needs no resize: its luma is computed with the others of its group (_measure_into)
    gray32 = (None if rgb.size == (PHASH_SIZE, PHASH_SIZE)
              else np.asarray(rgb.convert("L").resize((PHASH_SIZE, PHASH_SIZE), Image.Resampling.LANCZOS)))
    thumb = rgb.resize((THUMB_SIZE, THUMB_SIZE), Image.Resampling.BOX).tobytes()
    tile = _tile(rgb, pixels)
    record["status"] = "ok"
    batch.add(record, pixels, single_channel, gray32)  # last: nothing that can fail or time out comes after it
    return thumb, tile


def _tile(rgb: Image.Image, pixels: np.ndarray) -> bytes:
    """The image shrunk to fit TILE_SIDE x TILE_SIDE (aspect kept; smaller images as they are) as two bytes of width
    and height and the raw RGB bytes: at most 3 KB, and read back with no decoder at all (scan/tiles.py).
    `pixels` is `rgb` as an array: a small image's bytes are taken from it, not from Pillow a second time."""
    if max(rgb.size) <= TILE_SIDE:
        return bytes(rgb.size) + pixels.tobytes()
    tile = rgb.copy()
    tile.thumbnail((TILE_SIDE, TILE_SIDE), Image.Resampling.LANCZOS)
    return bytes((tile.width, tile.height)) + tile.tobytes()


def _pixel_hash(rgb: Image.Image, pixels: np.ndarray | None) -> int:
    """blake2b of the RGB pixels (row-major bytes) and the size. From `pixels` (the same image as an array) when
    the caller has it, else read in strips to avoid a full-size copy."""
    digest = hashlib.blake2b(digest_size=8)
    width, height = rgb.size
    if pixels is not None:
        digest.update(np.ascontiguousarray(pixels).data)
    else:
        for top in range(0, height, HASH_STRIP_ROWS):
            digest.update(rgb.crop((0, top, width, min(height, top + HASH_STRIP_ROWS))).tobytes())
    digest.update(f"{rgb.size}".encode())
    return int.from_bytes(digest.digest(), "big", signed=True) or 1


_LUMA = np.array([0.299, 0.587, 0.114])
_PERCENTILES = np.array([0.01, 0.05, 0.99])
BATCH_PIXELS = 64 * 64  # images up to this size are measured together (scan_many); larger ones one at a time
# Pixels measured in one call: 16 CIFAR-10 images. The float copies then stay in the processor's cache; 128 at once
# took longer per image than 16 (timeit, when this was set).
GROUP_PIXELS = 16 * 32 * 32


class _Batch:
    """Decoded images waiting for their statistics and pHash (scan_many): small ones are kept (at most 12 KB of
    pixels each, for the files of one worker task), larger ones are measured at once."""

    def __init__(self) -> None:
        self.waiting: list[tuple[dict[str, Any], np.ndarray, bool, np.ndarray | None]] = []

    def add(self, record: dict[str, Any], pixels: np.ndarray, single_channel: bool,
            gray32: np.ndarray | None) -> None:
        if pixels.shape[0] * pixels.shape[1] <= BATCH_PIXELS:
            self.waiting.append((record, pixels, single_channel, gray32))
        else:
            _measure_into([record], pixels[None], np.array([single_channel]), None if gray32 is None else gray32[None])

    def discard(self, record: dict[str, Any]) -> None:
        """Forget a record that failed after all (its time limit struck after add()): it is not measured, and
        values a large image's immediate measurement wrote are reset."""
        self.waiting = [item for item in self.waiting if item[0] is not record]
        record.update((name, RECORD_COLUMNS[name]) for name in (*MEASURED, "phash"))

    def finish(self) -> set[int]:
        """Measure what waits, in groups of one image size (of at most GROUP_PIXELS); the ids of the records whose
        statistics failed (none expected: they are arithmetic on a decoded array)."""
        groups: dict[tuple[int, ...], list[tuple[dict[str, Any], np.ndarray, bool, np.ndarray]]] = {}
        for item in self.waiting:
            groups.setdefault(item[1].shape, []).append(item)
        self.waiting = []
        failed: set[int] = set()
        for shape, same_size in groups.items():
            step = max(1, GROUP_PIXELS // (shape[0] * shape[1]))
            for start in range(0, len(same_size), step):
                group = same_size[start:start + step]
                try:
                    _measure_into([item[0] for item in group], np.stack([item[1] for item in group]),
                                  np.array([item[2] for item in group]),
                                  None if group[0][3] is None else np.stack([item[3] for item in group]))
                except Exception:  # noqa: BLE001 - never a crash: each image's row says what failed
                    failed.update(id(item[0]) for item in group)
        return failed


def _measure_into(records: list[dict[str, Any]], pixels: np.ndarray, single_channel: np.ndarray,
                  gray32: np.ndarray | None) -> None:
    """Statistics (measure_many) and pHash of n same-size images into their records. gray32 None: the images are
    PHASH_SIZE square, and their luma is Pillow's convert("L") of `pixels` (pillow_luma)."""
    if gray32 is None:
        gray32 = pillow_luma(pixels)
    for record, hashed, *values in zip(records, bits_to_int64_many(phash_bits_many(gray32)),
                                       *measure_many(pixels, single_channel).values(), strict=True):
        record.update(zip(MEASURED, values, strict=True))
        record["phash"] = hashed


def pillow_luma(pixels: np.ndarray) -> np.ndarray:
    """Pillow's convert("L") of (..., 3) uint8 RGB, bit for bit: its fixed-point ITU-R 601-2 weights (L24 in
    libImaging/Convert.c), rounded. Equal for every one of the 2^24 colours (tests/scan/test_decode.py)."""
    wide = pixels.astype(np.uint32)
    return ((wide[..., 0] * 19595 + wide[..., 1] * 38470 + wide[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)


MEASURED = ("mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "brightness", "contrast", "sharpness",
            "entropy", "luma_p01", "luma_p05", "luma_p99", "colourfulness")


def measure_many(pixels: np.ndarray, single_channel: np.ndarray) -> dict[str, list[float]]:
    """Colour, luma, sharpness and entropy statistics of n same-size images ((n, height, width, 3) uint8; which
    had one channel), as lists of n floats per name in MEASURED."""
    # Sums along each image's own axes (and elementwise ops), no matrix products: a product's summation order may
    # depend on how many images are stacked, and an image's values must not depend on the others measured with it.
    # Each channel is a contiguous row (n, 3, count): a sum along an interleaved axis is many times slower.
    n, height, width = pixels.shape[:3]
    planes8 = np.ascontiguousarray(pixels.reshape(n, -1, 3).transpose(0, 2, 1))
    planes = planes8.astype(np.float64)
    count = planes.shape[2]
    means = planes.sum(axis=2) / count  # (n, 3)
    stds = np.sqrt(np.maximum((planes * planes).sum(axis=2) / count - means * means, 0.0))
    luma_flat = planes[:, 0] * _LUMA[0] + planes[:, 1] * _LUMA[1] + planes[:, 2] * _LUMA[2]  # (n, count)
    luma_mean = means[:, 0] * _LUMA[0] + means[:, 1] * _LUMA[1] + means[:, 2] * _LUMA[2]
    contrast = np.sqrt(np.maximum((luma_flat * luma_flat).sum(axis=1) / count - luma_mean * luma_mean, 0.0))
    if height >= 3 and width >= 3:
        luma = luma_flat.reshape(n, height, width)
        laplacian = (luma[:, :-2, 1:-1] + luma[:, 2:, 1:-1] + luma[:, 1:-1, :-2] + luma[:, 1:-1, 2:]
                     - 4 * luma[:, 1:-1, 1:-1]).reshape(n, -1)
        size = laplacian.shape[1]
        laplacian_mean = laplacian.sum(axis=1) / size
        sharpness = np.maximum((laplacian * laplacian).sum(axis=1) / size - laplacian_mean ** 2, 0.0)
    else:
        sharpness = np.zeros(n)
    # Rounded, not truncated: a grey pixel (100, 100, 100) has luma 100 even when the float sum is 99.99999.
    bins = np.rint(luma_flat).astype(np.intp)
    bins += 256 * np.arange(n)[:, None]
    histogram = np.bincount(bins.ravel(), minlength=256 * n).reshape(n, 256)
    share = histogram / count
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(histogram > 0, share * np.log2(share), 0.0)
    entropy = -terms.sum(axis=1)  # a row's sum does not depend on the other rows (a matrix product's may)
    # The first bin whose cumulative count reaches each percentile's share of the pixels (np.searchsorted, left).
    below = np.cumsum(histogram, axis=1)[:, :, None] < (_PERCENTILES * count)[None, None, :]
    percentiles = below.sum(axis=1)  # (n, 3)
    # |R-G| + |G-B| + |B-R| of three numbers is twice their range (max - min).
    red, green, blue = planes8[:, 0], planes8[:, 1], planes8[:, 2]
    spread = np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)
    colourfulness = np.where(single_channel, 0.0, 2.0 * spread.sum(axis=1, dtype=np.int64) / (3 * count))
    columns = (*means.T, *stds.T, luma_mean, contrast, sharpness, entropy, *percentiles.T.astype(np.float64),
               colourfulness)
    return {name: column.tolist() for name, column in zip(MEASURED, columns, strict=True)}
