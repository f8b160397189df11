"""Scan figures for `make bench`: the raw limit the scan is measured against, and a dataset with 1% new images.

Raw limit: what any tool must do per image at the least, on all cores: read the file, decode it with Pillow, and
compute one pHash (grey, 32x32 LANCZOS, DCT, median). Our scan does that plus every statistic, the thumbnails, the
hashes and the cache; `make bench` prints the scan's images/s over this limit's.

1% new: a CSV of every CIFAR-10 file (label and split from its folders) plus 1% new images (mirror images of test
images, written to a temporary folder, never beside the dataset), audited with the cache of a run over the 60,000:
the scan decodes only the new ones, the analysers run again on everything.
"""

from __future__ import annotations

import csv
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from dataset_audit.scan.decode import PHASH_SIZE, bits_to_int64, phash_bits


def _decode_and_phash(paths: list[str]) -> int:
    total = 0
    for path in paths:
        with open(path, "rb") as handle, Image.open(handle) as image:
            gray = image.convert("RGB").convert("L").resize((PHASH_SIZE, PHASH_SIZE), Image.Resampling.LANCZOS)
        total ^= bits_to_int64(phash_bits(np.asarray(gray)))
    return total


def raw_limit(files: list[Path], jobs: int | None = None, repeats: int = 3) -> dict:
    """Images/s of read + decode + one pHash over `files` in `jobs` processes (all cores), median of `repeats`."""
    jobs = jobs or os.cpu_count() or 1
    names = [str(f) for f in files]
    chunks = [names[i:i + 256] for i in range(0, len(names), 256)]
    times = []
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_decode_and_phash, chunks[:jobs]))  # start the workers before timing
        for _ in range(repeats):
            started = time.perf_counter()
            list(pool.map(_decode_and_phash, chunks))
            times.append(time.perf_counter() - started)
    median = statistics.median(times)
    return {"files": len(files), "jobs": jobs, "median_s": round(median, 2),
            "images_per_s": round(len(files) / median, 1)}


def plus_one_percent_csv(cifar_root: Path, folder: Path, share: float = 0.01) -> Path:
    """folder/plus1pct.csv: every CIFAR-10 JPEG (absolute path, label, split) plus `share` new mirror images."""
    files = sorted(cifar_root.rglob("*.jpg"))
    rows = [[str(f.resolve()), f.parent.name, f.parent.parent.name] for f in files]  # as the folder run keys them
    new = folder / "new-images"
    new.mkdir(parents=True, exist_ok=True)
    tests = [f for f in files if f.parent.parent.name == "test"]
    step = max(1, int(1 / share) // 6)  # spread over the classes
    for i, source in enumerate(tests[::step][:round(len(files) * share)]):
        target = new / f"mirror_{i:05d}.jpg"
        with Image.open(source) as image:
            image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(target, quality=90)
        rows.append([str(target.resolve()), source.parent.name, "train"])
    out = folder / "plus1pct.csv"
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split"])
        writer.writerows(rows)
    return out
