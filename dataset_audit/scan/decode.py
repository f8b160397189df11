"""Open and decode one image, once, and compute every per-image feature from that single decode.

Runs inside worker processes: no labels, no table, no config beyond the sizes below. Every failure becomes a
record with status and error_kind set; nothing here raises for a bad file.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .safe_read import ImageTimeout, ReadRefused, ScanLimits, read_image_file, time_limit

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
    low = (_DCT @ gray32.astype(np.float64) @ _DCT.T).ravel()
    middle = np.sort(low)[low.size // 2 - 1: low.size // 2 + 1]  # np.median's two middle values, without its overhead
    return low > (middle[0] + middle[1]) / 2


def bits_to_int64(bits: np.ndarray) -> int:
    value = int((bits.astype(np.uint64) * _BIT_WEIGHTS).sum(dtype=np.uint64))
    return value - (1 << 64) if value >= (1 << 63) else value


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
    record = _blank_record()
    if not path:
        record.update(status="missing", error_kind="empty_path", error="the path cell is empty")
        return record, b"", b""
    try:
        # Pillow's warnings about a damaged file (corrupt EXIF, truncated tags) are not printed: what matters
        # about the file is in its record.
        with time_limit(limits.seconds_per_image), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = read_image_file(path, limits.max_file_bytes)
            record["file_bytes"] = len(data)
            record["byte_hash"] = _digest64(data)
            if not data:
                record.update(status="unreadable", error_kind="empty_file", error="file is empty (0 bytes)")
                return record, b"", b""
            thumb, tile = _decode_into(record, data, path)
            return record, thumb, tile
    except ReadRefused as exc:
        record.update(status=exc.status, error_kind=exc.kind, error=str(exc))
    except ImageTimeout:
        record.update(status="unreadable", error_kind="timeout",
                      error=f"reading and decoding took longer than {limits.seconds_per_image:g} s; stopped")
    except Exception as exc:  # noqa: BLE001 - every decoder failure is a finding, never a crash
        record.update(status="unreadable", error_kind=_classify_error(exc), error=f"{type(exc).__name__}: {exc}"[:300])
    return record, b"", b""


@contextmanager
def open_image(data: bytes, expected: str | None = None) -> Iterator[Image.Image]:
    """Image.open over bytes, with Pillow's DecompressionBombWarning silenced: a large image is handled (drafted
    or not decoded) and reported by us, never printed to stderr. Pillow's DecompressionBombError (past twice the
    warning size) still raises.

    `expected` (the format the file's extension names) is tried first: without it Pillow asks every registered
    format in turn (four plugins for a JPEG), a large share of a small image's decode. A file not in that format
    is then opened as usual, so a PNG named .jpg is still read (and reported as a mismatch)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
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
        with time_limit(limits.seconds_per_image), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = read_image_file(path, limits.max_file_bytes)
            with open_image(data) as image:
                draft = draft_side_for(image, side * 2)
                if too_many_pixels(image, draft):
                    return None
                rgb, _, _ = decode_rgb(image, draft_side=draft)
                return rgb
    except (Exception, ImageTimeout):  # noqa: BLE001 - unreadable files are findings already; callers show a placeholder
        return None


def _decode_into(record: dict[str, Any], data: bytes, path: str) -> tuple[bytes, bytes]:
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
    _measure(record, pixels, single_channel)
    gray = rgb.convert("L")
    record["phash"] = bits_to_int64(phash_bits(np.asarray(gray.resize((PHASH_SIZE, PHASH_SIZE),
                                                                         Image.Resampling.LANCZOS))))
    record["status"] = "ok"
    return rgb.resize((THUMB_SIZE, THUMB_SIZE), Image.Resampling.BOX).tobytes(), _tile(rgb)


def _tile(rgb: Image.Image) -> bytes:
    """The image shrunk to fit TILE_SIDE x TILE_SIDE (aspect kept; smaller images as they are) as two bytes of width
    and height and the raw RGB bytes: at most 3 KB, and read back with no decoder at all (scan/tiles.py)."""
    tile = rgb.copy() if max(rgb.size) > TILE_SIDE else rgb
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


def _measure(record: dict[str, Any], pixels: np.ndarray, single_channel: bool) -> None:
    """Colour, luma, sharpness and entropy statistics of an (height, width, 3) uint8 array."""
    # Matrix products and elementwise ops only: on CIFAR-sized images numpy's axis reductions (sum(axis=0),
    # max(axis=2)) cost more than all the arithmetic, so sums are dot products with a vector of ones.
    height, width = pixels.shape[:2]
    flat = pixels.reshape(-1, 3).astype(np.float64)
    count = flat.shape[0]
    ones = np.ones(count)
    means = ones @ flat / count
    stds = np.sqrt(np.maximum(ones @ (flat * flat) / count - means * means, 0.0))
    record.update(mean_r=float(means[0]), mean_g=float(means[1]), mean_b=float(means[2]),
                  std_r=float(stds[0]), std_g=float(stds[1]), std_b=float(stds[2]))
    luma_flat = flat @ _LUMA
    luma_mean = float(_LUMA @ means)
    record["brightness"] = luma_mean
    record["contrast"] = float(np.sqrt(max(float(luma_flat @ luma_flat) / count - luma_mean * luma_mean, 0.0)))
    if height >= 3 and width >= 3:
        luma = luma_flat.reshape(height, width)
        laplacian = (luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:]
                     - 4 * luma[1:-1, 1:-1]).ravel()
        laplacian_mean = laplacian.sum() / laplacian.size
        record["sharpness"] = float(max(laplacian @ laplacian / laplacian.size - laplacian_mean ** 2, 0.0))
    else:
        record["sharpness"] = 0.0
    # Rounded, not truncated: a grey pixel (100, 100, 100) has luma 100 even when the float sum is 99.99999.
    histogram = np.bincount(np.rint(luma_flat).astype(np.uint8), minlength=256)
    p = histogram[histogram > 0] / count
    record["entropy"] = float(-(p @ np.log2(p)))
    low, dark, high = np.searchsorted(np.cumsum(histogram), _PERCENTILES * count)
    record["luma_p01"], record["luma_p05"], record["luma_p99"] = float(low), float(dark), float(high)
    if single_channel:
        record["colourfulness"] = 0.0
    else:
        # |R-G| + |G-B| + |B-R| of three numbers is twice their range (max - min).
        red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        spread = np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)
        record["colourfulness"] = 2.0 * float(spread.sum(dtype=np.int64)) / (3 * count)
