"""The MNIST test set from ../shared/datasets/mnist (IDX files) as 10,000 PNGs and a CSV, under bench/.data/mnist/."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "datasets" / "mnist"
TARGET = ROOT / "bench" / ".data" / "mnist"
IMAGES, LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"


def read_idx(images_gz: Path, labels_gz: Path) -> tuple[np.ndarray, np.ndarray]:
    """(n, rows, cols) uint8 pixels and (n,) uint8 labels; headers are checked, not trusted blindly."""
    images = gzip.decompress(images_gz.read_bytes())
    labels = gzip.decompress(labels_gz.read_bytes())
    magic, count, rows, cols = np.frombuffer(images[:16], dtype=">u4")
    label_magic, label_count = np.frombuffer(labels[:8], dtype=">u4")
    if (magic, label_magic) != (2051, 2049) or count != label_count:
        raise SystemExit(f"{images_gz} / {labels_gz} are not a matching pair of IDX image and label files")
    pixels = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(int(count), int(rows), int(cols))
    return pixels, np.frombuffer(labels, dtype=np.uint8, offset=8)


def mnist_test_csv() -> Path:
    """bench/.data/mnist/test.csv (path,label,index), writing the PNGs on first use."""
    csv = TARGET / "test.csv"
    if csv.exists():
        return csv
    if not (SOURCE / IMAGES).exists():
        raise SystemExit(f"MNIST not found at {SOURCE}: the benchmarks need ../shared/datasets beside the project")
    pixels, labels = read_idx(SOURCE / IMAGES, SOURCE / LABELS)
    (TARGET / "images").mkdir(parents=True, exist_ok=True)
    lines = ["path,label,index"]
    for index, (image, label) in enumerate(zip(pixels, labels, strict=True)):
        name = f"images/{index:05d}.png"
        Image.fromarray(image, "L").save(TARGET / name)
        lines.append(f"{name},{label},{index}")
    csv.with_suffix(".tmp").write_text("\n".join(lines) + "\n")
    csv.with_suffix(".tmp").rename(csv)
    return csv
