"""Helpers for image-analyser tests: photo-like generated images, written, scanned, and wrapped as AuditInput."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageFilter

from dataset_audit.config import Config
from dataset_audit.dataset import Table
from dataset_audit.model import AuditInput
from dataset_audit.scan import scan_images


def photo(seed: int, size: tuple[int, int] = (64, 64), tint: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> Image.Image:
    """A colour image with smooth regions and some fine detail, roughly like a small photo."""
    rng = np.random.default_rng(seed)
    width, height = size
    coarse = rng.uniform(40, 215, size=(height // 8 + 1, width // 8 + 1, 3))
    base = np.asarray(Image.fromarray(coarse.astype(np.uint8)).resize(size, Image.Resampling.BICUBIC), dtype=np.float64)
    detail = rng.normal(0, 12, size=(height, width, 1))
    pixels = np.clip((base + detail) * np.array(tint), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def dark(image: Image.Image, factor: float = 0.08) -> Image.Image:
    return Image.fromarray((np.asarray(image, dtype=np.float64) * factor).astype(np.uint8))


def bright(image: Image.Image) -> Image.Image:
    return Image.fromarray((235 + np.asarray(image, dtype=np.float64) * 0.08).astype(np.uint8))


def blurred(image: Image.Image, radius: float = 3.0) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def flat(value: int = 128, size: tuple[int, int] = (64, 64)) -> Image.Image:
    pixels = np.full((size[1], size[0], 3), value, dtype=np.uint8)
    pixels[size[1] // 2, size[0] // 2] = (value + 60) % 256  # one dot, so it is not perfectly constant
    return Image.fromarray(pixels)


def grayscale(image: Image.Image) -> Image.Image:
    return image.convert("L").convert("RGB")


def audit_input(tmp_path: Path, images: list[tuple[Image.Image, str]], options: dict | None = None,
                **config_fields) -> AuditInput:
    """Write (image, label) pairs as PNGs, scan them, and return an AuditInput with a path and label column."""
    folder = tmp_path / "images"
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for index, (image, _) in enumerate(images):
        name = f"{index:04d}.png"
        image.save(folder / name)
        names.append(f"images/{name}")
    frame = pd.DataFrame({"path": names, "label": [label for _, label in images],
                          "note": [f"n{index % 3}" for index in range(len(images))]})
    table = Table(frame=frame, source=str(tmp_path / "t.csv"), root=tmp_path, path_col="path", label_col="label")
    features = scan_images(table.resolved_paths(), jobs=1, cache_dir=None)
    config = Config(analysers=options or {}, **config_fields)
    return AuditInput(table=table, features=features, config=config)
