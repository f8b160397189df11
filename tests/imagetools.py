"""Image helpers for tests: small deterministic images and every awkward file kind the scanner must survive."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def random_rgb(seed: int, size: tuple[int, int] = (40, 32)) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(size[1] // 4 + 1, size[0] // 4 + 1, 3), dtype=np.uint8)
    image = Image.fromarray(base).resize(size, Image.Resampling.BILINEAR)
    return image


def jpeg_bytes(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, **kwargs)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (Pillow checks the size before decoding anything)."""
    data = bytearray(png_bytes(Image.new("L", (1, 1))))
    # Bytes 16..24 are IHDR's width and height; 12..29 (type + data) are covered by the CRC at 29..33.
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def write_bad_files(folder: Path) -> dict[str, Path]:
    """One file per awkward kind the scanner must survive; returns {kind: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def put(name: str, data: bytes, kind: str) -> None:
        path = folder / name
        path.write_bytes(data)
        files[kind] = path

    good = random_rgb(1)
    put("good.jpg", jpeg_bytes(good), "good")
    put("empty.jpg", b"", "empty_file")
    put("text.jpg", b"this is not an image\n" * 10, "not_an_image")
    put("truncated.jpg", jpeg_bytes(random_rgb(2, (200, 160)))[:600], "truncated_jpeg")
    put("truncated.png", png_bytes(random_rgb(3, (200, 160)))[:500], "truncated_png")
    put("png_named.jpg", png_bytes(random_rgb(4)), "format_mismatch")
    put("cmyk.jpg", jpeg_bytes(good.convert("CMYK")), "cmyk")
    put("palette.png", png_bytes(good.convert("P")), "palette")
    sixteen = Image.fromarray((np.linspace(0, 65535, 40 * 32).reshape(32, 40)).astype(np.uint16))
    put("sixteen.png", png_bytes(sixteen), "sixteen_bit")
    put("la.png", png_bytes(good.convert("LA")), "la")
    put("rgba.png", png_bytes(good.convert("RGBA")), "rgba")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    put("rotated.jpg", jpeg_bytes(random_rgb(5, (60, 20)), exif=exif.tobytes()), "exif_rotated")
    frames = [random_rgb(10 + i).convert("P") for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    put("animated.gif", buffer.getvalue(), "animated_gif")
    # A PNG header that claims 30000 x 30000 pixels: far past Pillow's decompression-bomb limit.
    put("bomb.png", png_claiming_size(30000, 30000), "decompression_bomb")
    files["missing"] = folder / "does_not_exist.jpg"
    return files


def write_small_dataset(folder: Path) -> Path:
    """folder/images.csv over 12 good images in two classes, one exact copy (copy_of_03.png) and three broken
    files (empty.jpg, truncated.jpg, gone.jpg which does not exist), rows in this order. Returns the CSV."""
    images = folder / "images"
    images.mkdir(parents=True)
    rows = ["path,label"]
    for i in range(12):
        random_rgb(200 + i, (48, 40)).save(images / f"img_{i:02d}.png")
        rows.append(f"images/img_{i:02d}.png,{'cat' if i < 7 else 'dog'}")
    (images / "copy_of_03.png").write_bytes((images / "img_03.png").read_bytes())
    rows.append("images/copy_of_03.png,cat")
    (images / "empty.jpg").write_bytes(b"")
    (images / "truncated.jpg").write_bytes(jpeg_bytes(random_rgb(7, (200, 160)))[:600])
    rows += ["images/empty.jpg,cat", "images/truncated.jpg,dog", "images/gone.jpg,dog"]
    csv = folder / "images.csv"
    csv.write_text("\n".join(rows) + "\n")
    return csv


def write_blank_png(path: Path, width: int, height: int) -> Path:
    """A black RGB PNG of any size, written row by row (a few hundred KB on disk, no image in memory)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(1)
    row = bytes(1 + 3 * width)  # filter byte 0 + black pixels
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path
