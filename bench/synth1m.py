"""A million small JPEGs made from CIFAR-10 (random crops, flips, colour jitter) with planted exact and near copies,
written once under the ignored bench/.data/synth1m/ for `make bench-1m`.

Layout: synth1m/dNNNN/NNNNNNN.jpg, 1,000 files per folder, and synth1m/images.csv (path,label,split,planted).
`planted` says what a row was made as: "" (an augmented CIFAR-10 image), "exact" (a byte copy of an earlier row of
the same block) or "near" (an earlier row re-encoded at another JPEG quality and 4% brighter). Blocks of 10,000 rows
are made in parallel, each from its own seed, so the set is the same on every machine; a block that is already
complete is not made again, so an interrupted generation resumes.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cifar import cifar10_folder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "bench" / ".data" / "synth1m"
BLOCK = 10_000
PER_FOLDER = 1_000
EXACT_SHARE = 0.005  # rows that are byte copies of an earlier row
NEAR_SHARE = 0.005  # rows that are re-encoded, slightly brighter copies of an earlier row
TEST_SHARE = 0.15

_SOURCES: np.ndarray | None = None  # (60000, 32, 32, 3) uint8, set in each worker
_LABELS: list[str] = []


def _load_cifar() -> tuple[np.ndarray, list[str]]:
    files = sorted(cifar10_folder().rglob("*.jpg"))
    arrays = np.empty((len(files), 32, 32, 3), dtype=np.uint8)
    for i, path in enumerate(files):
        with Image.open(path) as image:
            arrays[i] = np.asarray(image.convert("RGB").resize((32, 32)))
    return arrays, [path.parent.name for path in files]


def _init(sources: np.ndarray, labels: list[str]) -> None:
    global _SOURCES, _LABELS
    _SOURCES, _LABELS = sources, labels


def _augmented(rng: np.random.Generator, source: np.ndarray) -> Image.Image:
    image = Image.fromarray(source)
    side = int(rng.integers(22, 33))
    left, top = (int(v) for v in rng.integers(0, 33 - side, size=2))
    image = image.crop((left, top, left + side, top + side)).resize((32, 32), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    image = ImageEnhance.Brightness(image).enhance(float(rng.uniform(0.75, 1.25)))
    image = ImageEnhance.Contrast(image).enhance(float(rng.uniform(0.75, 1.25)))
    return ImageEnhance.Color(image).enhance(float(rng.uniform(0.6, 1.4)))


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def make_block(block: int) -> list[list[str]]:
    """Write rows block*BLOCK .. (block+1)*BLOCK-1 and return their CSV rows."""
    assert _SOURCES is not None
    rng = np.random.default_rng(1_000_003 * block + 7)
    rows: list[list[str]] = []
    made: list[tuple[bytes, Image.Image, str]] = []
    for offset in range(BLOCK):
        index = block * BLOCK + offset
        relative = f"d{index // PER_FOLDER:04d}/{index:07d}.jpg"
        roll = rng.random()
        if made and roll < EXACT_SHARE:
            data, image, label = made[int(rng.integers(len(made)))]
            planted = "exact"
        elif made and roll < EXACT_SHARE + NEAR_SHARE:
            _, original, label = made[int(rng.integers(len(made)))]
            image = ImageEnhance.Brightness(original).enhance(1.04)
            data = _jpeg(image, int(rng.integers(60, 75)))
            planted = "near"
        else:
            source = int(rng.integers(len(_SOURCES)))
            image, label = _augmented(rng, _SOURCES[source]), _LABELS[source]
            data = _jpeg(image, int(rng.integers(80, 96)))
            planted = ""
            made.append((data, image, label))
        path = TARGET / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        split = "test" if rng.random() < TEST_SHARE else "train"
        rows.append([relative, label, split, planted])
    return rows


def synth_csv(total: int = 1_000_000, jobs: int | None = None) -> Path:
    """images.csv of the first `total` rows (a multiple of BLOCK), generating missing blocks first."""
    if total % BLOCK:
        raise ValueError(f"total must be a multiple of {BLOCK}")
    TARGET.mkdir(parents=True, exist_ok=True)
    blocks = range(total // BLOCK)
    todo = [b for b in blocks if not (TARGET / f".block-{b:04d}.csv").exists()]
    if todo:
        started = time.perf_counter()
        print(f"  generating {len(todo) * BLOCK:,} JPEGs into {TARGET} (once; resumable) ...", flush=True)
        sources, labels = _load_cifar()
        with ProcessPoolExecutor(jobs or os.cpu_count() or 1, initializer=_init, initargs=(sources, labels)) as pool:
            for done, (block, rows) in enumerate(zip(todo, pool.map(make_block, todo), strict=True), start=1):
                with open(TARGET / f".block-{block:04d}.csv", "w", newline="") as handle:
                    csv.writer(handle).writerows(rows)
                if done % 10 == 0 or done == len(todo):
                    print(f"    {done * BLOCK:,} of {len(todo) * BLOCK:,} written "
                          f"({time.perf_counter() - started:.0f} s)", flush=True)
    out = TARGET / f"images-{total // 1000}k.csv"
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split", "planted"])
        for block in blocks:
            with open(TARGET / f".block-{block:04d}.csv", newline="") as part:
                writer.writerows(csv.reader(part))
    return out


if __name__ == "__main__":
    print(synth_csv(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
