"""Write the bundled demo dataset (images/, images.csv, planted.json, README.md) with every planted problem listed.

Deterministic: one seeded numpy generator drives everything and the PNG/JPEG/GIF encoders get fixed settings, so two
runs with the same Pillow (and its bundled zlib/libjpeg) give byte-identical files. planted.json records the Pillow
version used, because a different zlib or libjpeg build may encode the same pixels into different bytes.

Usage: python sample_data/make_sample_data.py [--out DIR]   (default: the folder this script lives in)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import struct
import sys
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFilter

SEED = 20240611
HERE = Path(__file__).resolve().parent
OUTPUTS = ("images", "images.csv", "planted.json", "README.md")
# Besides its outputs, the default folder holds only this script (and Python's cache of it).
ALLOWED_EXTRAS = {"make_sample_data.py", "__pycache__"}

CLASSES = ["circle", "square", "triangle", "stripes", "blob", "star"]
BASE_PER_CLASS = {"circle": 60, "square": 60, "triangle": 60, "stripes": 60, "blob": 60, "star": 8}
# Base 'stripes' images drawn in grayscale: most of the class, so grayscale alone predicts the label.
GRAY_STRIPES = 55
SIDES = (48, 56, 64)
SPLIT_SHARES = (("train", 0.70), ("val", 0.15), ("test", 0.15))

JPEG_SETTINGS = {"quality": 88, "subsampling": 2, "optimize": False, "progressive": False}
PNG_SETTINGS = {"compress_level": 9, "optimize": False}

SOURCES = (("Camera A", 0.4), ("Camera B", 0.3), ("Phone", 0.2), ("Scanner", 0.1))
ANNOTATORS = ("José", "Mei", "Anna", "Tom", "Renée")
COLUMNS = ["path", "label", "split", "source", "capture_date", "sensor_temp", "exposure_ms", "annotator",
           "sample_id", "batch", "licence"]


# --------------------------------------------------------------------------------------------- drawing


def hsv(rng: np.random.Generator, hue: float, hue_jitter: float = 12.0, sat: tuple[float, float] = (0.6, 0.95),
        val: tuple[float, float] = (0.6, 0.95)) -> tuple[int, int, int]:
    """An RGB colour near `hue` (degrees) with jittered saturation and value."""
    h = ((hue + rng.uniform(-hue_jitter, hue_jitter)) % 360.0) / 360.0
    s = rng.uniform(*sat)
    v = rng.uniform(*val)
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return int(r * 255), int(g * 255), int(b * 255)


def textured_background(rng: np.random.Generator, size: tuple[int, int], colour: tuple[int, int, int],
                        variation: float = 28.0, grain: float = 5.0) -> Image.Image:
    """A background with smooth low-frequency colour variation plus fine grain, like a real surface."""
    width, height = size
    coarse = rng.normal(0.0, variation, size=(4, 4, 3))
    smooth = np.asarray(Image.fromarray(np.uint8(np.clip(coarse + 128, 0, 255)), "RGB")
                        .resize((width, height), Image.Resampling.BICUBIC), dtype=np.float64) - 128
    pixels = np.asarray(colour, dtype=np.float64)[None, None, :] + smooth + rng.normal(0, grain, (height, width, 3))
    return Image.fromarray(np.uint8(np.clip(pixels, 0, 255)), "RGB")


def add_grain(image: Image.Image, rng: np.random.Generator, grain: float = 4.0) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float64)
    pixels = pixels + rng.normal(0, grain, pixels.shape)
    return Image.fromarray(np.uint8(np.clip(pixels, 0, 255)), "RGB")


def draw_circle(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    width, height = size
    image = textured_background(rng, size, hsv(rng, 225, sat=(0.5, 0.8), val=(0.25, 0.45)))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 4))):
        radius = rng.uniform(0.12, 0.32) * min(width, height)
        cx, cy = rng.uniform(radius, width - radius), rng.uniform(radius, height - radius)
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=hsv(rng, 15, hue_jitter=15))
    return add_grain(image.filter(ImageFilter.SMOOTH), rng)


def draw_square(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    width, height = size
    image = textured_background(rng, size, hsv(rng, 40, sat=(0.05, 0.2), val=(0.75, 0.9)))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 4))):
        w, h = rng.uniform(0.2, 0.5) * width, rng.uniform(0.2, 0.5) * height
        x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
        draw.rectangle([x, y, x + w, y + h], fill=hsv(rng, 120, hue_jitter=18, val=(0.45, 0.8)))
    return add_grain(image.filter(ImageFilter.SMOOTH), rng)


def draw_triangle(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    width, height = size
    image = textured_background(rng, size, hsv(rng, 280, sat=(0.4, 0.7), val=(0.3, 0.55)))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 3))):
        side = rng.uniform(0.35, 0.7) * min(width, height)
        cx, cy = rng.uniform(side / 2, width - side / 2), rng.uniform(side / 2, height - side / 2)
        angle = rng.uniform(0, 2 * np.pi)
        points = [(cx + side / 1.7 * np.cos(angle + k * 2 * np.pi / 3), cy + side / 1.7 * np.sin(angle + k * 2 * np.pi / 3))
                  for k in range(3)]
        draw.polygon(points, fill=hsv(rng, 55, hue_jitter=8, val=(0.8, 1.0)))
    return add_grain(image.filter(ImageFilter.SMOOTH), rng)


def draw_stripes(rng: np.random.Generator, size: tuple[int, int], gray: bool = False) -> Image.Image:
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(6, 14)
    phase = rng.uniform(0, 2 * np.pi)
    wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period + phase)
    mask = (wave > rng.uniform(-0.3, 0.3)).astype(np.float64)[..., None]
    if gray:
        level_a, level_b = rng.uniform(20, 80), rng.uniform(170, 235)
        dark, light = np.array([level_a] * 3), np.array([level_b] * 3)
    else:
        dark, light = np.array(hsv(rng, 210, val=(0.35, 0.6))), np.array(hsv(rng, 200, sat=(0.0, 0.15), val=(0.85, 1.0)))
    pixels = mask * light + (1 - mask) * dark
    image = Image.fromarray(np.uint8(np.clip(pixels, 0, 255)), "RGB").filter(ImageFilter.SMOOTH)
    if gray:
        pixels = np.asarray(image, dtype=np.float64)[..., :1] + rng.normal(0, 4, (height, width, 1))
        return Image.fromarray(np.uint8(np.clip(pixels[..., 0], 0, 255)), "L")
    return add_grain(image, rng)


def draw_blob(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    width, height = size
    image = textured_background(rng, size, hsv(rng, 30, sat=(0.4, 0.65), val=(0.3, 0.45)), variation=20)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 14))):
        rx, ry = rng.uniform(3, 12), rng.uniform(3, 12)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=hsv(rng, 75, hue_jitter=20, sat=(0.35, 0.6),
                                                                    val=(0.4, 0.65)))
    return add_grain(image.filter(ImageFilter.GaussianBlur(1.5)), rng, grain=6)


def draw_star(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    width, height = size
    image = textured_background(rng, size, hsv(rng, 180, sat=(0.5, 0.8), val=(0.45, 0.65)))
    draw = ImageDraw.Draw(image)
    outer = rng.uniform(0.3, 0.45) * min(width, height)
    cx, cy = rng.uniform(outer, width - outer), rng.uniform(outer, height - outer)
    spin = rng.uniform(0, 2 * np.pi)
    points = []
    for k in range(10):
        radius = outer if k % 2 == 0 else outer * 0.42
        points.append((cx + radius * np.cos(spin + k * np.pi / 5), cy + radius * np.sin(spin + k * np.pi / 5)))
    draw.polygon(points, fill=hsv(rng, 310, hue_jitter=10))
    return add_grain(image.filter(ImageFilter.SMOOTH), rng)


DRAWERS = {"circle": draw_circle, "square": draw_square, "triangle": draw_triangle, "stripes": draw_stripes,
           "blob": draw_blob, "star": draw_star}


def random_size(rng: np.random.Generator) -> tuple[int, int]:
    return int(rng.choice(SIDES)), int(rng.choice(SIDES))


def _dct_rows(n: int, keep: int) -> np.ndarray:
    k, i = np.arange(keep)[:, None], np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))


_DCT = _dct_rows(32, 8)


def phash(image: Image.Image) -> np.ndarray:
    """The 64 bits of a standard DCT perceptual hash (imagehash.phash's definition)."""
    gray = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    low = _DCT @ gray @ _DCT.T
    return (low > np.median(low)).ravel()


class DistinctDrawer:
    """Draws fresh images, redrawing any whose pHash lies within MIN_DISTANCE bits of an earlier one.

    Only planted near-duplicates may look alike; without this a few random drawings of the same class land close
    enough to be flagged. Linear in the images drawn so far per draw: fine for a few hundred.
    """

    MIN_DISTANCE = 14
    MAX_TRIES = 200

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.hashes = np.zeros((0, 64), dtype=bool)
        self.redraws = 0

    def __call__(self, label: str, size: tuple[int, int] | None = None, **options: object) -> Image.Image:
        for _ in range(self.MAX_TRIES):
            image = DRAWERS[label](self.rng, size or random_size(self.rng), **options)
            bits = phash(image)
            if not len(self.hashes) or (self.hashes != bits).sum(axis=1).min() >= self.MIN_DISTANCE:
                self.hashes = np.vstack([self.hashes, bits])
                return image
            self.redraws += 1
        raise RuntimeError(f"could not draw a distinct '{label}' image in {self.MAX_TRIES} tries")


# --------------------------------------------------------------------------------------------- encoding


def encode(image: Image.Image, fmt: str, **overrides: object) -> bytes:
    buffer = io.BytesIO()
    settings: dict[str, object] = {}
    if fmt == "JPEG":
        settings = dict(JPEG_SETTINGS)
    elif fmt == "PNG":
        settings = dict(PNG_SETTINGS)
    settings.update(overrides)
    image.save(buffer, format=fmt, **settings)
    return buffer.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny 1-bit all-black PNG whose pixel count is over twice Pillow's decompression-bomb limit.

    Written by hand so generating it never allocates the image: Pillow would need 1 byte per pixel.
    """
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row * 500) for _ in range(height // 500))
    body += compressor.compress(row * (height % 500)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------------------------- the dataset


@dataclass
class Row:
    """One CSV row (values exactly as written) and the planted problems it takes part in."""

    path: str
    label: str
    split: str
    meta: dict[str, str] = field(default_factory=dict)
    tags: list[tuple[str, str]] = field(default_factory=list)  # (kind, group) pairs for planted.json


@dataclass
class Plant:
    kind: str
    note: str
    detail: dict[str, object] = field(default_factory=dict)
    also: list[str] = field(default_factory=list)


class Builder:
    """Accumulates files and rows; rows are shuffled and numbered only at the end."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.files: dict[str, bytes] = {}
        self.rows: list[Row] = []
        self.plants: dict[str, Plant] = {}
        self.column_plants: list[dict[str, object]] = []
        self.redraws = 0
        self._ids = iter(rng.permutation(np.arange(10000, 100000))[:2000].tolist())
        self._sample_ids = iter(rng.permutation(np.arange(100000, 1000000))[:2000].tolist())

    def new_path(self, split: str, ext: str) -> str:
        return f"images/{split}/img_{next(self._ids):05d}.{ext}"

    def add_file(self, split: str, data: bytes, ext: str) -> str:
        path = self.new_path(split, ext)
        self.files[path] = data
        return path

    def add_row(self, path: str, label: str, split: str) -> Row:
        row = Row(path=path, label=label, split=split, meta=self.random_meta(label))
        self.rows.append(row)
        return row

    def add_image(self, image: Image.Image, label: str, split: str, fmt: str | None = None) -> Row:
        fmt = fmt or ("PNG" if self.rng.random() < 0.4 else "JPEG")
        ext = "png" if fmt == "PNG" else "jpg"
        return self.add_row(self.add_file(split, encode(image, fmt), ext), label, split)

    def plant(self, group: str, kind: str, rows: list[Row], note: str, **detail: object) -> None:
        also = detail.pop("also", [])
        self.plants[group] = Plant(kind=kind, note=note, detail=detail, also=list(also))  # type: ignore[arg-type]
        for row in rows:
            row.tags.append((kind, group))

    def random_meta(self, label: str) -> dict[str, str]:
        rng = self.rng
        names, weights = zip(*SOURCES, strict=True)
        day = date(2023, 1, 1) + timedelta(days=int(rng.integers(0, 546)))
        batch_of_class = {c: f"B{i + 1:02d}" for i, c in enumerate(["blob", "star", "circle", "triangle",
                                                                        "square", "stripes"])}
        batch = batch_of_class.get(label, "B07")
        if rng.random() < 0.04:  # the leak is near-perfect, not perfect
            batch = f"B{int(rng.integers(1, 7)):02d}"
        return {
            "source": str(rng.choice(names, p=np.array(weights))),
            "capture_date": day.isoformat(),
            "sensor_temp": f"{float(np.clip(rng.normal(25, 4), 15, 35)):.1f}",
            "exposure_ms": f"{rng.uniform(5, 40):.1f}",
            "annotator": str(rng.choice(ANNOTATORS)),
            "sample_id": f"S{next(self._sample_ids)}",
            "batch": batch,
            "licence": "CC-BY-4.0",
        }


def split_plan(rng: np.random.Generator, count: int) -> list[str]:
    """About 70/15/15 per class, in random order."""
    n_val = max(1, round(count * 0.15))
    n_test = max(1, round(count * 0.15))
    plan = ["val"] * n_val + ["test"] * n_test + ["train"] * (count - n_val - n_test)
    return [plan[i] for i in rng.permutation(count)]


def shifted(image: Image.Image, dx: int, dy: int) -> Image.Image:
    """The same picture moved by (dx, dy) pixels, edges repeated: a re-taken or re-cropped frame."""
    pixels = np.asarray(image)
    height, width = pixels.shape[:2]
    ys = np.clip(np.arange(height) - dy, 0, height - 1)
    xs = np.clip(np.arange(width) - dx, 0, width - 1)
    return Image.fromarray(pixels[ys][:, xs])


def build(rng: np.random.Generator) -> Builder:
    b = Builder(rng)
    draw = DistinctDrawer(rng)

    # Base images: every class drawn procedurally; most "stripes" are grayscale (and no other class has any).
    base: dict[str, list[tuple[Row, Image.Image]]] = {c: [] for c in CLASSES}
    gray_rows: list[Row] = []
    for label in CLASSES:
        splits = split_plan(rng, BASE_PER_CLASS[label])
        for index, split in enumerate(splits):
            gray = label == "stripes" and index < GRAY_STRIPES
            # The first ten are drawn in gray levels; the others are colour drawings saved as grayscale, which draws
            # exactly what earlier versions of this dataset drew, so every other image stays as it was.
            image = draw(label, gray=True) if gray and index < 10 else draw(label)
            if gray and image.mode != "L":
                image = image.convert("L")
            row = b.add_image(image, label, split)
            base[label].append((row, image))
            if gray:
                gray_rows.append(row)
    b.plant("grayscale", "grayscale_concentrated", gray_rows,
            f"{GRAY_STRIPES} grayscale (mode L) images, all in class 'stripes' (most of the class); every other "
            "image is colour, so grayscale alone predicts 'stripes': a spurious correlation, like photos labelled "
            "'old' because they happen to be black and white",
            label="stripes", spurious_property="grayscale", also=[])
    b.plant("imbalance", "class_imbalance", [r for r, _ in base["star"]],
            "class 'star' has 8 images; the other classes have about 60-70 each", label="star")

    def train_png(label: str) -> tuple[Row, Image.Image, bytes]:
        """A fresh PNG image in train (a source for duplicates), with its pixels and bytes."""
        image = draw(label)
        data = encode(image, "PNG")
        row = b.add_row(b.add_file("train", data, "png"), label, "train")
        return row, image, data

    # Exact duplicates: the same bytes under a second neutral name, same class and split.
    for number, label in enumerate(["circle", "blob"], start=1):
        original, _, data = train_png(label)
        copy = b.add_row(b.add_file("train", data, "png"), label, "train")
        b.plant(f"exact{number}", "exact_duplicate", [original, copy], "byte-identical copy under another name",
                label=label)

    # Re-encoded duplicates: identical pixels, different bytes.
    original, image, _ = train_png("triangle")
    copy = b.add_row(b.add_file("train", encode(image, "PNG", compress_level=1), "png"), "triangle", "train")
    b.plant("reencoded1", "reencoded_duplicate", [original, copy],
            "same pixels saved again as PNG with another compression level", also=["exact_pixels"])
    original, image, _ = train_png("square")
    copy = b.add_row(b.add_file("train", encode(image, "BMP"), "bmp"), "square", "train")
    b.plant("reencoded2", "reencoded_duplicate", [original, copy], "same pixels saved as PNG and as BMP",
            also=["exact_pixels"])

    # Near duplicates: the same picture lightly changed, same class and split.
    def recrop(image: Image.Image) -> Image.Image:
        width, height = image.size
        return image.crop((3, 2, width - 2, height - 3)).resize((width, height), Image.Resampling.BICUBIC)

    def jitter(image: Image.Image) -> Image.Image:
        pixels = np.asarray(image, dtype=np.float64) * np.array([1.07, 1.03, 0.95]) + 6
        return Image.fromarray(np.uint8(np.clip(pixels, 0, 255)), "RGB")

    def rescale(image: Image.Image) -> Image.Image:
        width, height = image.size
        return image.resize((width * 3 // 4, height * 3 // 4), Image.Resampling.BILINEAR).resize(
            (width, height), Image.Resampling.BILINEAR)

    near_edits = [
        ("circle", lambda im: shifted(im, 2, 1), "PNG", "shifted by 2 px right and 1 px down"),
        ("square", recrop, "PNG", "re-cropped by a few pixels and resized back"),
        ("triangle", jitter, "PNG", "colour-jittered (channel gains, brightness +6)"),
        ("stripes", lambda im: im, "JPEG60", "re-compressed as JPEG quality 60"),
        ("blob", rescale, "PNG", "downscaled to 75% and upscaled back"),
    ]
    for number, (label, edit, fmt, how) in enumerate(near_edits, start=1):
        original, image, _ = train_png(label)
        changed = edit(image)
        data = encode(changed, "JPEG", quality=60) if fmt == "JPEG60" else encode(changed, "PNG")
        copy = b.add_row(b.add_file("train", data, "jpg" if fmt == "JPEG60" else "png"), label, "train")
        b.plant(f"near{number}", "near_duplicate", [original, copy], f"second image is the first {how}", label=label)

    # Leakage: a test image byte-identical to a train image; a val image that is a 1-px shift of a train image.
    original, _, data = train_png("square")
    leaked = b.add_row(b.add_file("test", data, "png"), "square", "test")
    b.plant("leak_test", "leakage", [original, leaked], "test image is a byte-identical copy of a train image",
            splits=["train", "test"], also=["exact_duplicate"])
    original, image, _ = train_png("triangle")
    leaked = b.add_row(b.add_file("val", encode(shifted(image, 1, 0), "PNG"), "png"), "triangle", "val")
    b.plant("leak_val", "leakage", [original, leaked], "val image is a train image shifted by 1 px",
            splits=["train", "val"], also=["near_duplicate"])

    # Conflicting labels: a byte-identical pair labelled differently.
    original, _, data = train_png("circle")
    other = b.add_row(b.add_file("train", data, "png"), "triangle", "train")
    b.plant("conflict", "conflicting_labels", [original, other],
            "byte-identical pair labelled 'circle' and 'triangle' (it shows circles)",
            labels=["circle", "triangle"], also=["exact_duplicate", "mislabelled"])

    # Missing and empty paths.
    for number in range(1, 4):
        row = b.add_row(b.new_path("train", "png" if number != 2 else "jpg"), CLASSES[number], "train")
        b.plant(f"missing{number}", "missing_file", [row], "path points to a file that does not exist")
    row = b.add_row("", "blob", "train")
    b.plant("empty_path", "empty_path", [row], "the path cell is empty")

    # Corrupt files.
    jpeg = encode(draw("circle"), "JPEG")
    png = encode(draw("square"), "PNG")
    corrupt = [
        ("truncated_jpeg", jpeg[: len(jpeg) * 6 // 10], "jpg", "circle", "JPEG cut at 60% of its bytes"),
        ("truncated_png", png[: len(png) * 6 // 10], "png", "square", "PNG cut at 60% of its bytes"),
        ("zero_bytes", b"", "jpg", "triangle", "empty file (0 bytes) named .jpg"),
        ("text_as_jpg", b"This is not an image. It is a note someone saved with the wrong name.\n", "jpg", "blob",
         "a text file named .jpg"),
    ]
    for variant, data, ext, label, note in corrupt:
        row = b.add_row(b.add_file("train", data, ext), label, "train")
        b.plant(variant, "corrupt", [row], note, variant=variant)
    row = b.add_row(b.add_file("train", bomb_png(14_000, 14_000), "png"), "stripes", "train")
    b.plant("bomb", "decompression_bomb", [row],
            "14000x14000 1-bit PNG (196 Mpx, over twice Pillow's limit): refused on open, never decoded",
            width=14_000, height=14_000)

    # A PNG named .jpg.
    row = b.add_row(b.add_file("train", encode(draw("triangle"), "PNG"), "jpg"), "triangle", "train")
    b.plant("format_mismatch", "format_mismatch", [row], "PNG data in a file named .jpg", actual="PNG",
            extension=".jpg")

    # Unusual modes that must decode fine.
    def exif_rotated(image: Image.Image) -> bytes:
        exif = Image.Exif()
        exif[0x0112] = 6  # viewer rotates 90 degrees clockwise, so store the picture turned the other way
        return encode(image.rotate(90, expand=True), "JPEG", exif=exif.tobytes())

    def animated(image: Image.Image) -> bytes:
        frames = [image] + [shifted(image, 3 * k, 0) for k in (1, 2)]
        paletted = [f.convert("P", palette=Image.Palette.ADAPTIVE, colors=64) for f in frames]
        buffer = io.BytesIO()
        paletted[0].save(buffer, format="GIF", save_all=True, append_images=paletted[1:], duration=200, loop=0)
        return buffer.getvalue()

    def sixteen_bit(image: Image.Image) -> bytes:
        gray = np.asarray(image.convert("L"), dtype=np.uint16) * 257
        return encode(Image.fromarray(gray), "PNG")

    def with_alpha(image: Image.Image) -> Image.Image:
        alpha = Image.new("L", image.size, 255)
        ImageDraw.Draw(alpha).rectangle([0, 0, image.size[0] // 4, image.size[1]], fill=90)
        rgba = image.convert("RGBA")
        rgba.putalpha(alpha)
        return rgba

    odd_modes = [
        ("cmyk_jpeg", "circle", "jpg", lambda im: encode(im.convert("CMYK"), "JPEG"), "CMYK JPEG", []),
        ("palette_png", "square", "png",
         lambda im: encode(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=32), "PNG"),
         "palette (P) PNG, 32 colours", []),
        ("gray16_png", "stripes", "png", sixteen_bit, "16-bit grayscale PNG (I;16)", ["grayscale_concentrated"]),
        ("la_png", "stripes", "png", lambda im: encode(im.convert("LA"), "PNG"), "grayscale + alpha (LA) PNG",
         ["grayscale_concentrated"]),
        ("rgba_png", "triangle", "png", lambda im: encode(with_alpha(im), "PNG"), "RGBA PNG, left quarter translucent",
         []),
        ("exif_rotated_jpeg", "blob", "jpg", exif_rotated, "JPEG stored sideways with EXIF orientation 6", []),
        ("animated_gif", "circle", "gif", animated, "animated GIF, 3 frames (first frame is the image)", []),
    ]
    for variant, label, ext, encoder, note, also in odd_modes:
        image = draw(label, gray=True).convert("RGB") if label == "stripes" else draw(label)
        row = b.add_row(b.add_file("train", encoder(image), ext), label, "train")
        b.plant(variant, "odd_mode", [row], f"{note}: must decode fine", variant=variant, also=also)

    # Image quality problems (each a fresh image of an ordinary class).
    def scaled(image: Image.Image, gain: float, offset: float) -> Image.Image:
        pixels = np.asarray(image, dtype=np.float64) * gain + offset
        return Image.fromarray(np.uint8(np.clip(pixels, 0, 255)), "RGB")

    quality = [
        ("dark", "circle", "train", lambda im: scaled(im, 0.07, 0), "very dark (pixels scaled to 7%)"),
        ("dark", "square", "test", lambda im: scaled(im, 0.05, 2), "very dark (pixels scaled to 5%)"),
        ("bright", "triangle", "train", lambda im: scaled(im, 0.06, 240), "washed out (pixels squeezed into 240-255)"),
        ("blurry", "blob", "train", lambda im: im.filter(ImageFilter.GaussianBlur(4)), "Gaussian blur radius 4"),
        ("blurry", "square", "val", lambda im: im.filter(ImageFilter.GaussianBlur(5)), "Gaussian blur radius 5"),
    ]
    for number, (kind, label, split, edit, note) in enumerate(quality, start=1):
        row = b.add_image(edit(draw(label)), label, split, fmt="PNG")
        b.plant(f"{kind}{number}", kind, [row], note, label=label)
    flat = np.full((56, 56, 3), (120, 124, 118), dtype=np.float64) + rng.normal(0, 1.0, (56, 56, 3))
    row = b.add_image(Image.fromarray(np.uint8(np.clip(flat, 0, 255)), "RGB"), "blob", "train", fmt="PNG")
    b.plant("low_information", "low_information", [row], "nearly uniform grey (noise of 1 level)", label="blob")
    row = b.add_image(draw("square", (400, 40)), "square", "train", fmt="PNG")
    b.plant("odd_size", "odd_size", [row], "400x40 while every other image is 48-64 px (aspect ratio 10)",
            width=400, height=40, also=["odd_aspect_ratio"])

    # Mislabelled: drawn as one class, labelled as another.
    mislabels = [("circle", "square", "train"), ("circle", "blob", "train"), ("triangle", "circle", "train"),
                 ("square", "stripes", "val"), ("blob", "triangle", "train"), ("stripes", "square", "test")]
    for number, (looks_like, label, split) in enumerate(mislabels, start=1):
        row = b.add_image(draw(looks_like), label, split)
        b.plant(f"mislabelled{number}", "mislabelled", [row], f"looks like '{looks_like}', labelled '{label}'",
                looks_like=looks_like, label=label)

    # Outliers: nothing else in the dataset looks like these.
    height, width = 64, 64
    cells = (rng.integers(0, 2, size=(8, 8, 3)) * 255).astype(np.uint8)  # every channel fully on or off
    checker = Image.fromarray(cells, "RGB").resize((width, height), Image.Resampling.NEAREST)
    row = b.add_image(checker, "square", "train", fmt="PNG")
    b.plant("outlier1", "outlier", [row], "mosaic of saturated random colours, labelled 'square'", label="square")
    yy, xx = np.mgrid[0:height, 0:width]
    radius = np.hypot(xx - 20, yy - 40) / 6.0
    rainbow = np.stack([np.sin(radius), np.sin(radius + 2.1), np.sin(radius + 4.2)], axis=-1) * 127 + 128
    row = b.add_image(Image.fromarray(np.uint8(rainbow), "RGB"), "triangle", "train", fmt="PNG")
    b.plant("outlier2", "outlier", [row], "smooth rainbow rings, labelled 'triangle'", label="triangle")

    plant_metadata(b, base)
    b.redraws = draw.redraws
    return b


def plant_metadata(b: Builder, base: dict[str, list[tuple[Row, Image.Image]]]) -> None:
    """Problems in the table itself, on base rows that carry no image problem (disjoint per kind)."""
    rng = b.rng
    clean = [row for label in CLASSES if label != "star" for row, _ in base[label] if not row.tags]
    order = rng.permutation(len(clean))
    pool = iter([clean[i] for i in order])

    def take(count: int) -> list[Row]:
        # Skip rows that an earlier metadata plant (e.g. the label variants) already used.
        return [row for row in (next(r for r in pool if not r.tags) for _ in range(count))]

    cells = [("sensor_temp", "NA"), ("sensor_temp", "?"), ("capture_date", "null"), ("capture_date", "N/A"),
             ("annotator", ""), ("source", "NA")]
    for column in dict.fromkeys(c for c, _ in cells):
        tokens = [t for c, t in cells if c == column]
        rows = take(len(tokens))
        for row, token in zip(rows, tokens, strict=True):
            row.meta[column] = token
        b.plant(f"missing_{column}", "missing_value", rows, f"missing-value tokens {tokens} in '{column}'",
                column=column, tokens=tokens)

    disguised = take(round(0.08 * len(b.rows)))
    for row in disguised:
        row.meta["exposure_ms"] = "0"
    b.plant("disguised", "disguised_missing", disguised,
            "exposure_ms is 0 (impossible: a real exposure lasts 5-40 ms) in about 8% of rows; means 'not recorded'",
            column="exposure_ms", value="0")

    texts = ["12ms", "20 ms", "8.5ms", "16,5"]
    rows = take(len(texts))
    for row, text in zip(rows, texts, strict=True):
        row.meta["exposure_ms"] = text
    b.plant("numbers_as_text", "numbers_as_text", rows, f"exposure_ms values with units or a decimal comma: {texts}",
            column="exposure_ms", values=texts)

    row = take(1)[0]
    row.meta["sensor_temp"] = "950.0"
    b.plant("numeric_outlier", "numeric_outlier", [row], "sensor_temp 950.0 while the rest lie in 15-35",
            column="sensor_temp", value="950.0")

    variants = ["camera a", "CameraA", "Camera A ", "CAMERA A", "camera-a"]
    rows = take(len(variants))
    for row, variant in zip(rows, variants, strict=True):
        row.meta["source"] = variant
    b.plant("source_variants", "inconsistent_category", rows, f"variants of 'Camera A' in 'source': {variants}",
            column="source", canonical="Camera A", variants=variants)

    circles = [row for row, _ in base["circle"] if not row.tags]
    rows = [circles[i] for i in rng.permutation(len(circles))[:3]]
    for row, variant in zip(rows, ["Circle", "circles", "CIRCLE"], strict=True):
        row.label = variant
    b.plant("label_variants", "inconsistent_label", rows, "circles labelled 'Circle', 'circles', 'CIRCLE'",
            column="label", canonical="circle", variants=["Circle", "circles", "CIRCLE"])

    rows = take(2)
    for row in rows:
        row.meta["annotator"] = "JosÃ©"
    b.plant("mojibake", "mojibake", rows, "annotator 'JosÃ©': UTF-8 'José' decoded as Latin-1",
            column="annotator", value="JosÃ©", intended="José", also=["inconsistent_category"])

    original = take(1)[0]
    copy = Row(path=original.path, label=original.label, split=original.split, meta=dict(original.meta))
    b.rows.append(copy)
    b.plant("duplicate_row", "duplicate_row", [original, copy], "an entire row repeated",
            also=["exact_duplicate"])

    original_row = take(1)[0]
    conflicting = Row(path=original_row.path, label="stripes" if original_row.label != "stripes" else "blob",
                      split=original_row.split, meta=dict(original_row.meta))
    b.rows.append(conflicting)
    b.plant("conflicting_row", "conflicting_row", [original_row, conflicting],
            f"the same record twice, labelled '{original_row.label}' and '{conflicting.label}'",
            also=["exact_duplicate", "conflicting_labels"])

    b.column_plants += [
        {"kind": "leaky_column", "rows": [], "paths": [],
         "note": "'batch' equals a per-class code (B01..B06) in about 96% of rows: it predicts the label",
         "detail": {"column": "batch"}, "also": []},
        {"kind": "constant_column", "rows": [], "paths": [], "note": "'licence' is 'CC-BY-4.0' in every row",
         "detail": {"column": "licence"}, "also": []},
        {"kind": "id_column", "rows": [], "paths": [], "note": "'sample_id' is an identifier (almost all distinct)",
         "detail": {"column": "sample_id"}, "also": []},
        {"kind": "dates_as_text", "rows": [], "paths": [], "note": "'capture_date' holds dates as text, YYYY-MM-DD",
         "detail": {"column": "capture_date", "format": "%Y-%m-%d"}, "also": []},
    ]


NOT_PLANTED = [
    {"kind": "row_order_leakage", "note": "rows are shuffled: the label does not follow row order"},
    {"kind": "non_utf8_encoding", "note": "images.csv is UTF-8 (the only encoding problem planted is mojibake)"},
]


# --------------------------------------------------------------------------------------------- writing


def check_output_folder(out: Path) -> None:
    """Refuse any folder that is not this script's own, empty, or an earlier output of this script."""
    if not out.exists():
        return
    if not out.is_dir():
        sys.exit(f"refusing to write: {out} exists and is not a folder")
    entries = {p.name for p in out.iterdir()}
    own_folder = out.resolve() == HERE
    earlier_output = (out / "planted.json").is_file()
    unexpected = sorted(entries - set(OUTPUTS) - (ALLOWED_EXTRAS if own_folder else set()))
    if entries and not (own_folder or earlier_output):
        sys.exit(f"refusing to write into {out}: it is not empty and holds no earlier sample data "
                 f"(found {', '.join(sorted(entries)[:5])})")
    if unexpected:
        sys.exit(f"refusing to write into {out}: unexpected entries {unexpected}; this script writes only "
                 f"{', '.join(OUTPUTS)}")


def write(b: Builder, out: Path) -> None:
    check_output_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "images").exists():
        shutil.rmtree(out / "images")
    for relative in sorted(b.files):
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b.files[relative])

    order = b.rng.permutation(len(b.rows))
    rows = [b.rows[i] for i in order]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.path, row.label, row.split] + [row.meta[c] for c in COLUMNS[3:]])
    (out / "images.csv").write_text(buffer.getvalue(), encoding="utf-8", newline="")

    members: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        for _, group in row.tags:
            members.setdefault(group, []).append(position)
    planted = []
    for group, plant in b.plants.items():
        positions = sorted(members[group])
        planted.append({"kind": plant.kind, "rows": positions, "paths": [rows[p].path for p in positions],
                        "note": plant.note, "detail": plant.detail, "also": plant.also})
    planted += b.column_plants
    document = {
        "description": "Problems planted in images.csv and images/ by make_sample_data.py. rows are 0-based "
                       "positions of data rows in images.csv; paths are the path cells of those rows, in the same "
                       "order. 'also' names other kinds the same rows legitimately trigger.",
        "seed": SEED,
        "generated_with": {"pillow": PIL.__version__},
        "rows": len(rows),
        "files": len(b.files),
        "planted": planted,
        "not_planted": NOT_PLANTED,
    }
    (out / "planted.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "README.md").write_text(readme(document, rows), encoding="utf-8")


def readme(document: dict, rows: list[Row]) -> str:
    counts: dict[str, int] = {}
    for entry in document["planted"]:
        counts[entry["kind"]] = counts.get(entry["kind"], 0) + 1
    labels: dict[str, int] = {}
    for row in rows:
        labels[row.label] = labels.get(row.label, 0) + 1
    lines = [
        "# Sample dataset",
        "",
        "A small synthetic image-classification dataset with known problems planted in it: `make demo` audits it, and",
        "the tests check that the audit finds what was planted. Every file here is written by",
        "`make_sample_data.py` (seeded, byte-for-byte reproducible with the same Pillow build); regenerate with",
        "`make sample-data`.",
        "",
        f"- `images.csv`: {document['rows']} rows; columns {', '.join(COLUMNS)}. Paths are relative to the CSV.",
        f"- `images/{{train,val,test}}/`: {document['files']} files, 48-64 px procedural drawings in six classes "
        "(circle, square, triangle, stripes, blob, star), each class with its own shapes and colours.",
        "- `planted.json`: every planted problem: `kind`, 0-based CSV `rows`, their `paths`, a `note`, a `detail`, and",
        "  `also` (other kinds the same rows rightly trigger). `not_planted` lists what was deliberately left out.",
        "",
        "Planted problems (kind: entries):",
        "",
    ]
    lines += [f"- {kind}: {count}" for kind, count in counts.items()]
    lines += ["", "Labels as written: " + ", ".join(f"{k} {v}" for k, v in sorted(labels.items())) + ".", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    args = parser.parse_args(argv)
    builder = build(np.random.default_rng(SEED))
    write(builder, args.out)
    total = sum(p.stat().st_size for name in OUTPUTS for p in [args.out / name, *(args.out / name).rglob("*")]
                if p.is_file())
    print(f"{builder.redraws} drawings redrawn for being too close to an earlier one")
    print(f"wrote {len(builder.rows)} rows, {len(builder.files)} files to {args.out} ({total / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
